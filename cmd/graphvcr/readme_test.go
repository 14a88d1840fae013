package main

import (
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// The README tests check the repository's README against this command: its
// commands and flags against the help, its generated examples against what
// the command prints now. They run graphvcr in this process, from the
// repository root, as a reader of the README would type the commands.

// repoRoot is the repository root, seen from this directory.
const repoRoot = "../.."

// The README, and the cassette its Mermaid diagram and screenshot show.
var (
	readmePath = filepath.Join(repoRoot, "README.md")
)

const (
	diagramFile    = "cassettes/single-invite.bolt" // as the README names it, from the repository root
	screenshotFile = "cassettes/single-invite.png"
)

// block is one fenced code block of a Markdown file.
type block struct {
	lang string
	line int // of the opening fence, 1-based
	text string
}

// fencedBlocks returns the fenced code blocks of md, fences indented or not
// (inside list items), with the fence's indentation removed from each line.
func fencedBlocks(md string) []block {
	var blocks []block
	var cur *block
	indent := ""
	for i, l := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		if cur == nil {
			if lang, ok := strings.CutPrefix(trimmed, "```"); ok {
				cur, indent = &block{lang: strings.TrimSpace(lang), line: i + 1}, l[:len(l)-len(trimmed)]
			}
			continue
		}
		if trimmed == "```" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.text += strings.TrimPrefix(l, indent) + "\n"
	}
	return blocks
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeOutput returns the README and the output it shows for cmdLine: the
// text block after "`cmdLine`:".
func readmeOutput(t *testing.T, cmdLine string) (readme, shown string) {
	t.Helper()
	readme = readREADME(t)
	_, after, ok := strings.Cut(readme, "`"+cmdLine+"`:\n\n```text\n")
	if !ok {
		t.Fatalf("README does not show the output of `%s` in a text block", cmdLine)
	}
	shown, _, ok = strings.Cut(after, "```\n")
	if !ok {
		t.Fatalf("the README's block of `%s` is not closed", cmdLine)
	}
	return readme, shown
}

// checkREADMEOutput fails unless shown (from readmeOutput) is got, what
// cmdLine prints now; with -update it writes got into the README instead.
// what names the example and test the test to rerun, in the message.
func checkREADMEOutput(t *testing.T, readme, shown, got, what, test, cmdLine string) {
	t.Helper()
	if shown == got {
		return
	}
	if !*update {
		t.Fatalf("README's %s example differs from what `%s` prints; run go test ./cmd/graphvcr -run %s -update\nwant:\n%s", what, cmdLine, test, got)
	}
	readme = strings.Replace(readme, "```text\n"+shown+"```\n", "```text\n"+got+"```\n", 1)
	if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runGraphvcr runs graphvcr args from the repository root, in this process
// (so the test must not be parallel), and returns its stdout and exit status.
func runGraphvcr(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	defer os.Chdir(wd) // the paths of the rest of the test are from this directory
	r := graphvcr(t, nil, args...)
	if r.code != 0 {
		t.Logf("graphvcr %s: exit status %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout, r.code
}

// TestREADMEOpening checks the README starts as it must: the title, one
// paragraph, then a code block whose first commands are the demo and the
// tests.
func TestREADMEOpening(t *testing.T) {
	readme := readREADME(t)
	head, rest, ok := strings.Cut(readme, "\n\n")
	if !ok || head != "# graphvcr" {
		t.Fatalf("README does not start with the title: %q", head)
	}
	para, rest, _ := strings.Cut(rest, "\n\n")
	if strings.HasPrefix(para, "```") || strings.HasPrefix(para, "#") || len(para) < 200 {
		t.Errorf("the title is not followed by one paragraph: %q", para)
	}
	if !strings.HasPrefix(rest, "```\n") {
		t.Fatalf("the paragraph is not followed by a code block: %q", rest[:min(len(rest), 80)])
	}
	code := fencedBlocks(rest)[0].text
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(code), "\n") {
		c, _, _ := strings.Cut(l, "#")
		cmds = append(cmds, strings.TrimSpace(c))
	}
	if len(cmds) < 2 || cmds[0] != "go run ./cmd/graphvcr demo" || cmds[1] != "go test ./..." {
		t.Errorf("the first commands are %q, want the demo then go test ./...", cmds)
	}
}

// TestREADMEMermaid checks the README's Mermaid diagram is the beginning,
// cut between two events, of what
// `graphvcr show cassettes/single-invite.bolt --format mermaid` prints now,
// and that the README links to diagramPage, which holds the whole of it, so
// that neither goes stale. -update rewrites both.
func TestREADMEMermaid(t *testing.T) {
	readme := readREADME(t)
	var diagrams []block
	for _, b := range fencedBlocks(readme) {
		if b.lang == "mermaid" {
			diagrams = append(diagrams, b)
		}
	}
	if len(diagrams) != 1 {
		t.Fatalf("README has %d mermaid blocks, want 1", len(diagrams))
	}
	full, code := runGraphvcr(t, "show", diagramFile, "--format", "mermaid")
	if code != 0 {
		t.Fatalf("show %s --format mermaid: exit status %d", diagramFile, code)
	}
	if !strings.Contains(readme, "graphvcr show "+diagramFile+" --format mermaid") {
		t.Errorf("README does not say the diagram is `graphvcr show %s --format mermaid`", diagramFile)
	}
	if !strings.Contains(readme, "]("+diagramPage+")") {
		t.Errorf("README does not link to the whole diagram, %s", diagramPage)
	}
	shown := diagrams[0].text
	n := len(eventNotes.FindAllStringIndex(shown, -1))
	if n < 2 || n >= len(eventNotes.FindAllStringIndex(full, -1)) {
		n = readmeDiagramEvents
	}
	want := mermaidHead(full, n)
	page := diagramPageText(full)
	pagePath := filepath.Join(repoRoot, diagramPage)
	onDisk, _ := os.ReadFile(pagePath)
	if shown == want && string(onDisk) == page {
		return
	}
	if !*update {
		t.Fatalf("README's Mermaid diagram (line %d) or %s differs from what show --format mermaid prints for %s;\n"+
			"run go test ./cmd/graphvcr -run TestREADMEMermaid -update, and retake %s (see cassettes/README.md)\nwant in the README:\n%s",
			diagrams[0].line, diagramPage, diagramFile, screenshotFile, want)
	}
	old := "```mermaid\n" + shown + "```\n"
	if strings.Count(readme, old) != 1 {
		t.Fatal("cannot find the Mermaid block to rewrite")
	}
	readme = strings.Replace(readme, old, "```mermaid\n"+want+"```\n", 1)
	if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pagePath, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The README shows the first readmeDiagramEvents events of the diagram of
// diagramFile; diagramPage, which it links to, shows all of them.
const (
	readmeDiagramEvents = 3
	diagramPage         = "cassettes/single-invite.md"
)

// eventNotes matches the note that opens each event of a Mermaid timeline
// (the title is a note over both sides).
var eventNotes = regexp.MustCompile(`(?m)^    Note (left of bot|right of Graph): `)

// mermaidHead returns diagram up to the note of its event n+1: a valid
// diagram of its first n events.
func mermaidHead(diagram string, n int) string {
	notes := eventNotes.FindAllStringIndex(diagram, -1)
	if n >= len(notes) {
		return diagram
	}
	return diagram[:notes[n][0]]
}

// diagramPageText is the content of diagramPage for the whole diagram.
func diagramPageText(diagram string) string {
	return "# " + diagramFile + " as a sequence diagram\n\n" +
		"What `graphvcr show " + diagramFile + " --format mermaid` prints (GitHub renders it).\n" +
		"The repository's README shows its first events; `go test ./cmd/graphvcr -run TestREADMEMermaid -update`\n" +
		"refreshes both after the cassette is regenerated.\n\n" +
		"```mermaid\n" + diagram + "```\n"
}

// TestREADMEGoExample checks the README's Go test example is the one that
// example_test.go compiles and runs. The README's other Go blocks are
// snippets of configuration (SDKs, token validation) in modules graphvcr
// does not depend on; they may not define a test.
func TestREADMEGoExample(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "cassettes", "example_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range fencedBlocks(readREADME(t)) {
		if b.lang != "go" || !strings.Contains(b.text, "func Test") {
			continue
		}
		n++
		if !strings.Contains(string(src), b.text) || !strings.Contains(b.text, "replaytest.Start(") {
			t.Errorf("the Go test at README line %d is not the replaytest example of cassettes/example_test.go", b.line)
		}
	}
	if n != 1 {
		t.Errorf("README has %d Go tests, want the replaytest example", n)
	}
}

// TestREADMELinks checks the files the README links to and its screenshot
// of the HTML page exist; the screenshot is a PNG of a browser window.
func TestREADMELinks(t *testing.T) {
	readme := readREADME(t)
	links := regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(readme, -1)
	if len(links) < 2 {
		t.Fatalf("found %d relative links", len(links))
	}
	for _, m := range links {
		if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
			t.Errorf("README links to %s: %v", m[1], err)
		}
	}
	if !strings.Contains(readme, "!["+"graphvcr show "+diagramFile+" --format html]("+screenshotFile+")") {
		t.Errorf("README does not show the screenshot %s of the HTML page of %s", screenshotFile, diagramFile)
	}
	f, err := os.Open(filepath.Join(repoRoot, screenshotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 800 || cfg.Height < 400 {
		t.Errorf("%s: %v, %dx%d; want a PNG screenshot of a browser window", screenshotFile, err, cfg.Width, cfg.Height)
	}
}

// TestREADMECommands checks that every graphvcr command line in the
// README's code blocks and inline code names a real command and real flags
// (with a listed value where the flag lists its values), that every
// GRAPHVCR_ variable backs a real flag, and that the go commands name
// directories that exist: the README is checked against the binary's own
// help.
func TestREADMECommands(t *testing.T) {
	app := loadHelp(t)
	readme := readREADME(t)
	var lines []string
	for _, b := range fencedBlocks(readme) {
		if b.lang == "" || b.lang == "sh" || b.lang == "bash" {
			lines = append(lines, logicalLines(b.text)...)
		}
	}
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(readme, -1) {
		lines = append(lines, m[1])
	}

	used := map[string]bool{}
	checked := 0
	for _, l := range lines {
		for _, seg := range segments(l) {
			f := strings.Fields(seg)
			for len(f) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(f[0]) {
				f = f[1:]
			}
			switch {
			case len(f) > 0 && f[0] == "graphvcr":
				f = f[1:]
			case len(f) >= 3 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/graphvcr":
				f = f[3:]
			case len(f) >= 2 && f[0] == "go":
				for _, a := range f[2:] {
					if p, ok := strings.CutPrefix(a, "./"); ok {
						if _, err := os.Stat(filepath.Join(repoRoot, strings.TrimSuffix(p, "..."))); err != nil {
							t.Errorf("%q: no directory %s", l, a)
						}
					}
				}
				continue
			default:
				continue
			}
			if len(f) == 0 {
				continue // "graphvcr" alone, in prose
			}
			checked++
			if cmd := app.check(t, l, f); cmd != "" {
				used[cmd] = true
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d graphvcr command lines; the parser missed the README's", checked)
	}
	for _, c := range []string{"record", "replay", "show", "diff", "export", "scan", "ca", "demo"} {
		if !used[c] {
			t.Errorf("the README never shows `graphvcr %s`", c)
		}
	}

	for _, m := range regexp.MustCompile(`GRAPHVCR_([A-Z][A-Z_]*)`).FindAllStringSubmatch(readme, -1) {
		name := "--" + strings.ToLower(strings.ReplaceAll(m[1], "_", "-"))
		found := app.global[name] != ""
		for _, flags := range app.flags {
			found = found || flags[name] != ""
		}
		if !found {
			t.Errorf("%s backs no flag (%s)", m[0], name)
		}
	}
}

// logicalLines joins a code block's lines continued with a backslash, or
// by a synopsis line starting with "[", and drops comments.
func logicalLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		n := len(out)
		if n > 0 && (strings.HasSuffix(out[n-1], "\\") || strings.HasPrefix(trimmed, "[")) {
			out[n-1] = strings.TrimSuffix(out[n-1], "\\") + " " + trimmed
			continue
		}
		out = append(out, trimmed)
	}
	return out
}

// segments splits a shell line into its simple commands: at ;, &&, ||, a
// pipe or & between spaces, a redirection, and into $(...) substitutions.
// Brackets and quotes are dropped: a synopsis's [--flag VALUE] is checked
// like the flag itself.
func segments(line string) []string {
	line = strings.NewReplacer(`"`, " ", "'", " ", "[", " ", "]", " ").Replace(line)
	return regexp.MustCompile(`\$\(|\)|&&|\|\||;| \| | &(\s|$)|>`).Split(line, -1)
}

// helpText is what the binary's help says: commands, their flags (name to
// usage line) and the global flags.
type helpText struct {
	commands []string
	flags    map[string]map[string]string
	global   map[string]string
}

func loadHelp(t *testing.T) *helpText {
	t.Helper()
	top, code := runGraphvcr(t, "help")
	if code != 0 {
		t.Fatalf("help: exit status %d", code)
	}
	h := &helpText{flags: map[string]map[string]string{}, global: helpFlags(section(top, "GLOBAL OPTIONS:"))}
	for _, l := range strings.Split(section(top, "COMMANDS:"), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		name := strings.TrimSuffix(f[0], ",")
		h.commands = append(h.commands, name)
		if name == "help" {
			continue
		}
		out, code := runGraphvcr(t, "help", name)
		if code != 0 {
			t.Fatalf("help %s: exit status %d", name, code)
		}
		h.flags[name] = helpFlags(section(out, "OPTIONS:"))
	}
	if len(h.commands) < 7 || len(h.global) < 2 || len(h.flags["record"]) < 5 {
		t.Fatalf("could not read the help: commands %v, global flags %v", h.commands, h.global)
	}
	return h
}

// section returns the indented lines under heading in a help text.
func section(help, heading string) string {
	_, rest, ok := strings.Cut(help, heading+"\n")
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, " ") {
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// helpFlags maps each flag name of an OPTIONS section ("--format", "-o")
// to its usage line.
func helpFlags(sec string) map[string]string {
	flags := map[string]string{}
	names := regexp.MustCompile(`^\s+(-[^ ,]+)(?: value)?(?:, (-[^ ,]+)(?: value)?)?`)
	for _, l := range strings.Split(sec, "\n") {
		if m := names.FindStringSubmatch(l); m != nil {
			for _, n := range m[1:] {
				if n != "" {
					flags[n] = l
				}
			}
		}
	}
	return flags
}

// check checks one invocation's arguments f (after "graphvcr") and returns
// its command.
func (h *helpText) check(t *testing.T, line string, f []string) string {
	t.Helper()
	i := 0
	for i < len(f) && strings.HasPrefix(f[i], "-") {
		name, _, hasValue := strings.Cut(f[i], "=")
		usage, ok := h.global[name]
		if !ok {
			t.Errorf("%q: %s is not a global flag", line, name)
		}
		i++
		if strings.Contains(usage, " value ") && !hasValue {
			i++ // its value
		}
	}
	if i >= len(f) {
		t.Errorf("%q: no command", line)
		return ""
	}
	cmd := f[i]
	if !slices.Contains(h.commands, cmd) {
		t.Errorf("%q: %s is not a graphvcr command (%v)", line, cmd, h.commands)
		return ""
	}
	args := f[i+1:]
	if cmd == "help" {
		if len(args) > 0 && !slices.Contains(h.commands, args[0]) && strings.ToUpper(args[0]) != args[0] {
			t.Errorf("%q: no help topic %s", line, args[0])
		}
		return cmd
	}
	for j := 0; j < len(args); j++ {
		name, value, hasValue := strings.Cut(args[j], "=")
		if !strings.HasPrefix(name, "-") || name == "-" {
			continue
		}
		usage, ok := h.flags[cmd][name]
		if !ok {
			t.Errorf("%q: graphvcr %s has no flag %s", line, cmd, name)
			continue
		}
		if !strings.Contains(usage, " value ") {
			continue // a boolean
		}
		if !hasValue && j+1 < len(args) {
			j++
			value = args[j]
		}
		if name == "--format" {
			// Its usage lists the values: "text, json, mermaid or html".
			listed := regexp.MustCompile(`[a-z]+`).FindAllString(usage, -1)
			for v := range strings.SplitSeq(value, "|") {
				if !slices.Contains(listed, v) {
					t.Errorf("%q: %s --format %s is not one of %q", line, cmd, v, usage)
				}
			}
		}
	}
	return cmd
}

// TestREADMEDiff checks the README's example of `graphvcr diff` is what it
// prints now for the two sample cassettes it names. -update rewrites it.
func TestREADMEDiff(t *testing.T) {
	const cmdLine = "graphvcr diff cassettes/single-invite.bolt cassettes/multiple-invite.bolt"
	readme, shown := readmeOutput(t, cmdLine)
	want, code := runGraphvcr(t, strings.Fields(cmdLine)[1:]...)
	if code != 1 {
		t.Fatalf("%s: exit status %d; want 1 (the cassettes differ)", cmdLine, code)
	}
	checkREADMEOutput(t, readme, shown, want, "diff", "TestREADMEDiff", cmdLine)
}

// TestREADMEInstall checks the README says how to install the command, with
// the Go version go.mod requires, and names the scripts for the two sets of
// tests `go test ./...` leaves out.
func TestREADMEInstall(t *testing.T) {
	readme := readREADME(t)
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(mod)
	v := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil || v == nil {
		t.Fatal("go.mod names no module or no go version")
	}
	for _, want := range []string{
		"go install " + string(m[1]) + "/cmd/graphvcr@latest",
		"Go " + string(v[1]) + " or later",
		"`.ci/sdk-tests`",
		"`.ci/install-browser`",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not say %q", want)
		}
	}
}

// TestREADMECIWaitsForHealth checks the CI example starts the bot only
// after graphvcr answers its health endpoint.
func TestREADMECIWaitsForHealth(t *testing.T) {
	for _, b := range fencedBlocks(readREADME(t)) {
		lines := logicalLines(b.text)
		start := slices.IndexFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "graphvcr replay ") && strings.HasSuffix(l, "&")
		})
		if start < 0 {
			continue
		}
		health := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "/__graphvcr/health") })
		bot := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "--graph-url") })
		if health < start || bot < health {
			t.Errorf("the CI example (README line %d) does not wait for /__graphvcr/health between starting graphvcr and the bot:\n%s", b.line, b.text)
		}
		return
	}
	t.Error("README has no CI example starting graphvcr replay in the background")
}

// TestContributing checks .ci/CONTRIBUTING.md, which the README's last
// section links to: its relative links and the packages of its code map
// exist, and every benchmark its performance table names is defined.
func TestContributing(t *testing.T) {
	const page = ".ci/CONTRIBUTING.md"
	readme := readREADME(t)
	if i := strings.LastIndex(readme, "\n## "); i < 0 || !strings.HasPrefix(readme[i:], "\n## Contributing\n") || !strings.Contains(readme[i:], "]("+page+")") {
		t.Errorf("the README's last section is not Contributing linking to %s", page)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, page))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(text, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, ".ci", m[1])); err != nil {
			t.Errorf("%s links to %s: %v", page, m[1], err)
		}
	}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z/]+)`").FindAllStringSubmatch(text, -1) {
		if fi, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil || !fi.IsDir() {
			t.Errorf("%s names package %s, which is not a directory", page, m[1])
		}
	}
	defined := map[string]bool{}
	err = filepath.WalkDir(repoRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		for _, m := range regexp.MustCompile(`(?m)^func (Benchmark\w+)\(`).FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`(Benchmark\\w+)`").FindAllStringSubmatch(text, -1)
	if len(named) < 5 {
		t.Errorf("%s names %d benchmarks; its performance table is missing", page, len(named))
	}
	for _, m := range named {
		if !defined[m[1]] {
			t.Errorf("%s names %s, which no test file defines", page, m[1])
		}
	}
}

// TestREADMEFaultExample runs the fault example of "Testing a bot against
// Graph's faults" for real: the README's command, on a sample cassette, to
// the sample bot (which must cope, and the replay not diverge) and to the
// naive bot (which must not cope: the faults catch its bugs).
func TestREADMEFaultExample(t *testing.T) {
	var example []string
	for _, b := range fencedBlocks(readREADME(t)) {
		for _, l := range logicalLines(b.text) {
			if strings.HasPrefix(l, "graphvcr replay ") && strings.Contains(l, "--fault duplicate:match=established") {
				example = shellWords(l)
			}
		}
	}
	if example == nil {
		t.Fatal("README has no replay example with --fault duplicate:match=established")
	}
	for _, naive := range []bool{false, true} {
		toGraph := &graphtest.LateDialer{}
		opts := demoBotOptions("f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", 5, toGraph, nil)
		opts.Naive, opts.WaitTimeout = naive, 5*time.Second
		opts.Retry = graphtest.Retry{Base: 20 * time.Millisecond}
		bot, err := graphtest.StartBot(opts)
		if err != nil {
			t.Fatal(err)
		}
		args := slices.Clone(example[1:])
		for i := range args {
			switch {
			case args[i] == "c.bolt":
				args[i] = sampleCassette
			case i > 0 && args[i-1] == "--bot":
				args[i] = bot.URL
			}
		}
		p := start(t, nil, append(args, "--listen", "127.0.0.1:0", "--exit-when-done")...)
		toGraph.Set(p.waitMatch(replayListener))
		res, runErr := bot.Run(t.Context(), graphtest.SingleInvite)
		var r result
		if naive {
			r = p.interrupt() // the naive bot gives up: replay is never done
		} else {
			r = p.wait()
		}
		bot.Close()
		toGraph.CloseIdleConnections()
		if !strings.Contains(r.stdout, "faults: seed 7 — rerun with --seed 7\n") {
			t.Errorf("naive=%v: no seed line:\n%s", naive, r.stdout)
		}
		if !strings.Contains(r.stdout, "  fault: #4 duplicate: delivered twice") ||
			!strings.Contains(r.stdout, "  fault: #5 status: answered 429 activityLimitReached instead of the recorded answer, Retry-After: 1 (request sent 1×)") {
			t.Errorf("naive=%v: summary lacks the faults:\n%s", naive, r.stdout)
		}
		if naive {
			if runErr == nil && res.Err() == nil {
				t.Error("the naive bot coped with the README's faults; it should give up on the 429")
			}
			continue
		}
		if runErr != nil {
			t.Fatalf("the sample bot's run: %v", runErr)
		}
		if err := res.Err(); err != nil {
			t.Errorf("the sample bot did not cope with the README's faults: %v", err)
		}
		wantSuccess(t, r)
		if !strings.Contains(r.stdout, " 0 unmatched requests") || !strings.Contains(r.stdout, "0 pending") {
			t.Errorf("summary does not say all matched and delivered:\n%s", r.stdout)
		}
	}
}

// shellWords splits a command line as sh would, for the README's commands:
// spaces separate words, single quotes keep what they hold.
func shellWords(l string) []string {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range l {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
