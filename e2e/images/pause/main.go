// Command pause is the CRI sandbox ("pause") process for the local e2e
// cluster. It holds the pod's namespaces open, reaps zombie children (it runs
// as PID 1 of the pod's PID namespace when that namespace is shared) and exits
// cleanly on SIGTERM or SIGINT. It uses only the standard library so that it
// builds with any Go release from 1.19 on, statically (CGO_ENABLED=0).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is printed by "pause -v"; the image tag says the same.
const version = "3.10-mysql-cluster"

func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("pause", version)
		return
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			fmt.Fprintf(os.Stderr, "pause: shutting down on %v\n", sig)
			os.Exit(0)
		}
	}
}
