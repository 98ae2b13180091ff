package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// The markers of the generated section in ARCHITECTURE.md.
const (
	beginMarker = "<!-- graphs:begin -->"
	endMarker   = "<!-- graphs:end -->"
)

// step is one stop of a walk through the stages: the stage, the file and
// function that do the work there, and what happens. TestWalksNameRealCode
// checks that every function exists in its file.
type step struct {
	stage, file, function, what string
}

// walk follows one unit of work through its pipelines.
type walk struct {
	title string
	steps []step
}

func walks() []walk {
	return []walk{
		{"One HTTP request: `GET /index.html` to httpd", []step{
			{"accept", "actors/server.go", "(*Server).Serve", "the accept loop starts a pipeline per connection (publishes `ConnOpened`)"},
			{"wire", "protocols/httpd/httpd.go", "(*Server).Wire", "wires reader → framer → parser → handler → writer for the connection"},
			{"reader", "protocols/httpd/conn.go", "ReaderStage", "reads bytes into a `connio.Chunk` (512 B idle buffer, pooled 4 KiB while streaming); a passed deadline becomes a zero chunk"},
			{"framer", "protocols/http/framer.go", "(*RequestFramer).Feed", "finds the end of the head, parses it (`ParseRequestHead`), reads a body by Content-Length or chunked; every request of one read goes in one batch"},
			{"parser", "protocols/httpd/parser.go", "ParserStage", "percent-decodes and cleans the target against `/`"},
			{"handler", "protocols/httpd/handler.go", "(*Server).HandlerStage", "opens the file through `os.Root`, evaluates preconditions and Range, builds the response head"},
			{"writer", "protocols/httpd/writer.go", "(*Server).WriterStage", "buffers the head, flushes when no response is waiting; a large body goes by sendfile on the raw conn; publishes `RequestDone`"},
		}},
		{"One cache miss: `curl -x` through the proxy, both sides", []step{
			{"accept", "actors/server.go", "(*Server).Serve", "the accept loop starts a pipeline per client connection"},
			{"wire", "protocols/proxy/proxy.go", "Wire", "wires the client side (reader → framer → parser → handler → writer), then the upstream side"},
			{"wire", "protocols/proxy/upside.go", "(*handler).wireUpstream", "misses → origin writer → origin reader → response framer → response parser → to handler, fused"},
			{"reader", "protocols/proxy/framer.go", "(*handler).read", "the shared `connio.ReadChunks` reader, with the client's read deadlines"},
			{"framer", "protocols/proxy/framer.go", "frameRequests", "cuts the request head (`http.RequestFramer`); a small body is read whole"},
			{"parser", "protocols/proxy/parser.go", "(*handler).parse", "checks -allow and the target (`GET http://host:port/path`)"},
			{"handler", "protocols/proxy/handler.go", "(*handler).serve", "the cache: `cache.Decide` says forward; the first miss for a URL leads a collapsed flight"},
			{"handler", "protocols/proxy/upstream.go", "(*handler).roundTrip", "takes a keep-alive origin connection from the pool (or dials) and sets its deadline"},
			{"misses", "protocols/proxy/upside.go", "(*handler).upstream", "the handler's Send into the upstream side: the fused stages run in its goroutine"},
			{"origin writer", "protocols/proxy/upside.go", "(*handler).writeUpstream", "writes the origin-form request the handler built (`appendRequest`: hop-by-hop fields out, Via in) in one write"},
			{"origin reader", "protocols/proxy/upside.go", "(*handler).readUpstream", "reads the response's first bytes into the origin connection's 4 KiB buffer"},
			{"response framer", "protocols/proxy/upside.go", "(*handler).frameUpstream", "takes whole lines up to the empty line; body bytes stay in the buffer"},
			{"response parser", "protocols/proxy/upside.go", "(*handler).parseUpstream", "`http.ParseResponseHead`; a 1xx would send the framer on to the next head"},
			{"to handler", "protocols/proxy/upside.go", "(*handler).replyUpstream", "hands the parsed head back to the handler"},
			{"handler", "protocols/proxy/handler.go", "(*handler).relayResponse", "builds the client's head (`X-Cache: MISS`, Via, framing) and decides whether to store"},
			{"writer", "protocols/proxy/writer.go", "(*handler).writeOne", "writes the head, then relays the body"},
			{"writer", "protocols/proxy/upstream.go", "(*body).relay", "copies the body origin socket → client socket, keeping a copy; stores it before the last bytes; the origin connection goes back to the pool"},
		}},
		{"One ping: `ping -c 1` to pingd", []step{
			{"pacer", "protocols/ping/client.go", "(*Client).pace", "schedules probe 1 at the start time"},
			{"sender", "protocols/ping/client.go", "(*Client).sendStage", "records the send stamp, then writes `Ping 1 <time>`"},
			{"pingd reader", "protocols/ping/reader.go", "ReadDatagrams", "reads the datagram (recvmmsg on a real UDP socket)"},
			{"pingd parser", "protocols/ping/server.go", "(*Server).parseStage", "checks the `Ping ` prefix (`ParseRequest`)"},
			{"pingd handler", "protocols/ping/server.go", "(*Server).handleStage", "decides loss and delay from the seeded fates; tracks heartbeats"},
			{"pingd writer", "protocols/ping/server.go", "(*Server).writeStage", "sends the echo now, or later from a timer"},
			{"client reader", "protocols/ping/reader.go", "ReadDatagrams", "reads the echo (and ticks, so timeouts are noticed)"},
			{"client parser", "protocols/ping/client.go", "(*Client).parse", "parses `PING seq time` (`ParseReply`)"},
			{"client handler", "protocols/ping/client.go", "(*Client).handleStage", "matches the reply to its probe: RTT = receive stamp − send stamp"},
			{"client writer", "protocols/ping/client.go", "writeReport", "prints the line for the packet; after the last probe the run ends"},
		}},
		{"One SMTP message: `smtpsend` to a server", []step{
			{"submit", "protocols/smtp/client.go", "(*Client).Send", "checks the message (`CheckMessage`) and queues a job for the session"},
			{"reader", "protocols/smtp/client.go", "(*Client).wire", "the shared `connio.ReadChunks` reader stage reads the server's bytes"},
			{"framer", "protocols/smtp/reply.go", "FramerStage", "cuts reply lines, joins multi-line replies (`250-…` to `250 …`)"},
			{"parser", "protocols/smtp/reply.go", "ParserStage", "turns each reply into code, enhanced code and text (`ParseReply`)"},
			{"session", "protocols/smtp/session.go", "stateEnvelope", "the state machine sends MAIL FROM and RCPT TO (pipelined when offered)"},
			{"session", "protocols/smtp/session.go", "stateContent", "after 354, sends the dot-stuffed content"},
			{"writer", "protocols/smtp/writer.go", "WriterStage", "writes commands and data (`WriteData`), flushing when nothing waits"},
			{"session", "protocols/smtp/session.go", "stateDataEnd", "the final 250 completes the job; `Send` returns the result"},
		}},
	}
}

// docSection is the generated section, markers included.
func docSection() (string, error) {
	var b strings.Builder
	b.WriteString(beginMarker + "\n")
	b.WriteString("## Stage graphs and walks (generated; issue 9)\n\n")
	b.WriteString("Generated by `go generate ./cmd/stagegraph` from the graphs the pipelines record while they are wired;\n")
	b.WriteString("`TestArchitectureGraphsMatchCode` (cmd/stagegraph) fails when this section no longer matches the code, and\n")
	b.WriteString("`TestWalksNameRealCode` when a walk names a function that is gone. Draw any pipeline for a slide with\n")
	b.WriteString("`stagegraph NAME -format svg -o NAME.svg` (or `png`); see one live with `echod -status-addr 127.0.0.1:7070`\n")
	b.WriteString("and http://127.0.0.1:7070/debug/stages. Labs: `docs/labs/`.\n\n")
	b.WriteString("**Pictures and the live view** (`actors/graphview`). `graphview.DOT` styles graphs for a slide (left to right,\n")
	b.WriteString("one colour per role with a legend, the Go type and buffer on each edge, a fused edge dashed);\n")
	b.WriteString("`graphview/render` lays it out as SVG or PNG with go-graphviz for `stagegraph`. Servers do not link go-graphviz:\n")
	b.WriteString("it starts a WebAssembly Graphviz in `init`, ~20 MB of RSS in every process (BENCHMARKS.md). The live page\n")
	b.WriteString("(`graphview.Handler`, mounted at `/debug/stages`) draws with `graphview.SVG`, a small layered layout for\n")
	b.WriteString("chains, annotated from `Meter.Snapshot()` (items in, out, queued per stage; active, started, finished\n")
	b.WriteString("pipelines); the page refetches its live part every second; `?format=json` and `?format=svg` give the data\n")
	b.WriteString("and the picture alone, `?format=mermaid` and `?format=dot` the bare graphs. `actors/status` puts `/metrics` and\n")
	b.WriteString("`/debug/stages` on one handler (httpd, proxy) and reports a meter's per-stage counts to Prometheus as\n")
	b.WriteString("`NAME_stage_items_total{stage,dir}` and `NAME_stage_queued{stage}`. Graphs that exist only while a connection\n")
	b.WriteString("runs (sim/rdt's sender and receiver) are\n")
	b.WriteString("taken from a real connection between two simulated hosts; the others from each package's `Graph` function.\n")
	for _, e := range entries() {
		pipes, err := e.graphs(false)
		if err != nil {
			return "", fmt.Errorf("%s: %w", e.name, err)
		}
		fmt.Fprintf(&b, "\n### %s — %s\n\nFrom `%s`.\n", e.name, e.about, e.source)
		for _, p := range pipes {
			if len(pipes) > 1 {
				fmt.Fprintf(&b, "\n%s:\n", title(p.Title, p.Graph.Name))
			}
			fmt.Fprintf(&b, "\n```mermaid\n%s```\n", p.Graph.Mermaid())
		}
	}
	for _, w := range walks() {
		fmt.Fprintf(&b, "\n### %s\n\n| stage | where | what happens |\n|---|---|---|\n", w.title)
		for _, s := range w.steps {
			fmt.Fprintf(&b, "| %s | `%s` `%s` | %s |\n", s.stage, s.file, s.function, s.what)
		}
	}
	b.WriteString(endMarker)
	return b.String(), nil
}

func title(t, fallback string) string {
	if t != "" {
		return t
	}
	return fallback
}

// replaceSection puts section in place of the text between the markers
// (markers included).
func replaceSection(doc []byte, section string) ([]byte, error) {
	i := bytes.Index(doc, []byte(beginMarker))
	j := bytes.Index(doc, []byte(endMarker))
	if i < 0 || j < i {
		return nil, fmt.Errorf("no %s … %s section", beginMarker, endMarker)
	}
	out := append([]byte{}, doc[:i]...)
	out = append(out, section...)
	return append(out, doc[j+len(endMarker):]...), nil
}

// updateFile rewrites the generated section of the Markdown file at path.
func updateFile(path string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	section, err := docSection()
	if err != nil {
		return err
	}
	out, err := replaceSection(doc, section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(out, doc) {
		return nil
	}
	return os.WriteFile(path, out, 0o644)
}
