//go:build tools

// Package tools keeps the program to build in go.mod (the build tag keeps it out of every compile).
package tools

import _ "github.com/coredns/coredns"
