// The serving stand-in of the suite's Kubernetes phase (e2e/images/standin-http). On a cluster a pod whose probes
// fail never becomes ready and is restarted, so a Deployment of the plain stand-in (e2e/images/standin, which
// serves nothing) never finishes a rollout. This one is still NOT the service: it answers 200 with a body saying
// so to every request on the ports in SUPABASE_E2E_STANDIN_PORTS (the service's port and the ports its health
// check asks), which is what the program's probes ask of it; it does nothing else.
//
// Called as `postgrest --ready` or `imgproxy health` (the health checks of those two images run their own binary),
// it answers as those commands do: exit 0 when the stand-in answers on its first port, 1 otherwise.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func ports() []string {
	var out []string
	for _, p := range strings.Split(os.Getenv("SUPABASE_E2E_STANDIN_PORTS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func serve(service string, list []string) {
	body := fmt.Sprintf("stand-in for %s: not the real service; it answers 200 to every request so that its probes pass\n", service)
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(body))
	})
	for _, port := range list {
		server := &http.Server{Addr: ":" + port, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := server.ListenAndServe(); err != nil {
				fmt.Fprintf(os.Stderr, "stand-in for %s: port %s: %v\n", service, server.Addr, err)
				os.Exit(1)
			}
		}()
	}
	fmt.Printf("stand-in for %s: not the real service; answering on ports %s; arguments ignored: %v\n", service, strings.Join(list, ","), os.Args[1:])
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

// healthCommand answers `postgrest --ready` and `imgproxy health`: whether the stand-in answers on its first port.
func healthCommand(name string, args []string, list []string) int {
	if !(name == "postgrest" && len(args) == 1 && args[0] == "--ready") && !(name == "imgproxy" && len(args) == 1 && args[0] == "health") {
		fmt.Fprintf(os.Stderr, "%s here is a stand-in: it answers only `postgrest --ready` or `imgproxy health`\n", name)
		return 2
	}
	if len(list) == 0 {
		return 1
	}
	client := http.Client{Timeout: 3 * time.Second}
	res, err := client.Get("http://127.0.0.1:" + list[0] + "/")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func main() {
	name := filepath.Base(os.Args[0])
	if name == "postgrest" || name == "imgproxy" {
		os.Exit(healthCommand(name, os.Args[1:], ports()))
	}
	serve(os.Getenv("SUPABASE_E2E_STANDIN_FOR"), ports())
}
