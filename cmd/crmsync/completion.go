package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

func init() {
	register(command{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script (verbs and their flags)", run: completionCmd})
}

func completionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("completion", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: crmsync completion bash|zsh|fish")
		fmt.Fprintln(w, "Prints a completion script for the shell: the commands, and each command's flags.")
		fmt.Fprintln(w, "  bash:  source <(crmsync completion bash)            (or save it in /etc/bash_completion.d/crmsync)")
		fmt.Fprintln(w, "  zsh:   crmsync completion zsh > \"${fpath[1]}/_crmsync\"   (then restart zsh; needs compinit)")
		fmt.Fprintln(w, "  fish:  crmsync completion fish > ~/.config/fish/completions/crmsync.fish")
		printFlags(w, fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	verbs := completionVerbs()
	switch pos[0] {
	case "bash":
		writeBash(stdout, verbs)
	case "zsh":
		writeZsh(stdout, verbs)
	case "fish":
		writeFish(stdout, verbs)
	default:
		fmt.Fprintf(stderr, "crmsync completion: unknown shell %q: want bash, zsh or fish\n", pos[0])
		return exitUsage
	}
	return exitOK
}

type complVerb struct {
	name, summary string
	flags         []complFlag
}

type complFlag struct {
	name, usage string
	takesValue  bool
}

// completionVerbs: every command and the flags its flag set defines.
func completionVerbs() []complVerb {
	var out []complVerb
	for _, n := range commandNames() {
		c := commands[n]
		v := complVerb{name: n, summary: c.summary}
		if fs := flagsOf(c); fs != nil {
			fs.VisitAll(func(f *flag.Flag) {
				_, usage := flag.UnquoteUsage(f)
				bf, isBool := f.Value.(interface{ IsBoolFlag() bool })
				v.flags = append(v.flags, complFlag{f.Name, usage, !(isBool && bf.IsBoolFlag())})
			})
		}
		v.flags = append(v.flags, complFlag{"help", "print the command's help", false})
		out = append(out, v)
	}
	return out
}

func writeBash(w io.Writer, verbs []complVerb) {
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	fmt.Fprintf(w, `# bash completion for crmsync (crmsync completion bash)
_crmsync() {
    local cur prev verb flags valued
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))
        return
    fi
    verb="${COMP_WORDS[1]}"
    case "$verb" in
`, strings.Join(names, " "))
	for _, v := range verbs {
		var all, valued []string
		for _, f := range v.flags {
			all = append(all, "--"+f.name)
			if f.takesValue {
				valued = append(valued, "--"+f.name)
			}
		}
		fmt.Fprintf(w, "    %s) flags=%q; valued=%q ;;\n", v.name, strings.Join(all, " "), strings.Join(valued, " "))
	}
	fmt.Fprint(w, `    *) flags=""; valued="" ;;
    esac
    if [[ "$verb" == completion && $COMP_CWORD -eq 2 ]]; then
        COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
        return
    fi
    if [[ " $valued " == *" $prev "* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o default -o filenames -F _crmsync crmsync
`)
}

// zshQuote escapes a description for zsh's _arguments and _describe.
func zshQuote(s string) string {
	r := strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:")
	return r.Replace(s)
}

func writeZsh(w io.Writer, verbs []complVerb) {
	fmt.Fprint(w, `#compdef crmsync
# zsh completion for crmsync (crmsync completion zsh > "${fpath[1]}/_crmsync")
_crmsync() {
    local -a verbs
    verbs=(
`)
	for _, v := range verbs {
		fmt.Fprintf(w, "        '%s:%s'\n", v.name, zshQuote(v.summary))
	}
	fmt.Fprint(w, `    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'crmsync command' verbs
        return
    fi
    local verb=${words[2]}
    shift 1 words
    (( CURRENT-- ))
    case $verb in
`)
	for _, v := range verbs {
		fmt.Fprintf(w, "    %s)\n        _arguments -s \\\n", v.name)
		for _, f := range v.flags {
			if f.takesValue {
				fmt.Fprintf(w, "            '--%s=[%s]:value:_files' \\\n", f.name, zshQuote(f.usage))
			} else {
				fmt.Fprintf(w, "            '--%s[%s]' \\\n", f.name, zshQuote(f.usage))
			}
		}
		if v.name == "completion" {
			fmt.Fprint(w, "            '1:shell:(bash zsh fish)'\n        ;;\n")
		} else {
			fmt.Fprint(w, "            '*:file:_files'\n        ;;\n")
		}
	}
	fmt.Fprint(w, `    esac
}
if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
    _crmsync "$@"
else
    compdef _crmsync crmsync
fi
`)
}

// fishQuote quotes a string for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, verbs []complVerb) {
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	fmt.Fprint(w, "# fish completion for crmsync (crmsync completion fish > ~/.config/fish/completions/crmsync.fish)\n")
	fmt.Fprint(w, "complete -c crmsync -f\n")
	fmt.Fprint(w, "complete -c crmsync -n __fish_use_subcommand -l help -d 'print help'\n")
	fmt.Fprint(w, "complete -c crmsync -n __fish_use_subcommand -l version -d 'print the version'\n")
	for _, v := range verbs {
		fmt.Fprintf(w, "complete -c crmsync -n __fish_use_subcommand -a %s -d %s\n", v.name, fishQuote(v.summary))
	}
	for _, v := range verbs {
		cond := fishQuote("__fish_seen_subcommand_from " + v.name)
		if v.name == "completion" {
			fmt.Fprintf(w, "complete -c crmsync -n %s -a 'bash zsh fish'\n", cond)
		} else {
			fmt.Fprintf(w, "complete -c crmsync -n %s -F\n", cond)
		}
		for _, f := range v.flags {
			r := ""
			if f.takesValue {
				r = " -r"
			}
			fmt.Fprintf(w, "complete -c crmsync -n %s -l %s%s -d %s\n", cond, f.name, r, fishQuote(f.usage))
		}
	}
}
