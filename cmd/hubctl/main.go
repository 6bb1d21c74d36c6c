// Command hubctl is the operator's tool for obmenhub: it inspects 1C
// exchange files and generates test packages.
//
// Usage:
//
//	hubctl inspect [--summary] FILE...
//	hubctl gen-offers --offers N --warehouses W -o FILE
//	hubctl post [--url URL] [--user USER] [--password-env VAR] [--zip] FILE...
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one hubctl subcommand. run receives the arguments after the
// subcommand name and returns errExit after it has reported its own errors.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// errExit asks main to exit with status 1 without printing anything more.
var errExit = errors.New("exit status 1")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hubctl: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if !errors.Is(err, errExit) {
			fmt.Fprintf(stderr, "hubctl %s: %v\n", args[0], err)
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: hubctl COMMAND [ARGS]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'hubctl COMMAND -h' for the options of a command.")
}
