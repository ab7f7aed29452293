// The pause image of the suite's Kubernetes cluster: the process that holds each pod's namespaces (containerd's
// CRI plugin starts it as the pod sandbox, its `sandbox_image`). It does what the sandbox needs and nothing else:
// it sleeps, reaps the zombies of processes whose parent has gone (it is PID 1 of a pod that shares its PID
// namespace), and exits 0 on SIGINT or SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		// One SIGCHLD may stand for several children: reap until none is left to reap.
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
