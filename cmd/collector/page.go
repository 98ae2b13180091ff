package main

import "html/template"

// pageHTML is the HTML summary; html/template escapes every value
// (access-log lines come from the network).
const pageHTML = `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>netstages fleet</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#eee}td.l{text-align:left}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}</style></head><body>
<h1>netstages fleet</h1>
<p>{{.Events}} events, {{.Requests}} requests, {{len .Instances}} instances{{if .Undecoded}}, {{.Undecoded}} undecodable{{end}}.</p>
<h2>Instances</h2>
<table><tr><th>instance</th><th>requests</th><th>status</th><th>bytes</th><th>conns opened</th><th>active</th><th>refused</th><th>pkts sent</th><th>recv</th><th>lost</th><th>mail</th><th>last event</th></tr>
{{range $name, $c := .Instances}}<tr><td class="l">{{$name}}</td><td>{{$c.Requests}}</td><td class="l">{{range $k, $v := $c.Status}}{{$k}}:{{$v}} {{end}}</td><td>{{$c.Bytes}}</td><td>{{$c.ConnsOpened}}</td><td>{{$c.ConnsActive}}</td><td>{{$c.Refused}}</td><td>{{$c.PacketsSent}}</td><td>{{$c.PacketsRecv}}</td><td>{{$c.PacketsLost}}</td><td class="l">{{range $k, $v := $c.Mail}}{{$k}}:{{$v}} {{end}}</td><td class="l">{{if not $c.Last.IsZero}}{{$c.Last.Format "2006-01-02 15:04:05"}}{{end}}</td></tr>
{{end}}</table>
<h2>Ping targets</h2>
<table><tr><th>target</th><th>probe</th><th>sent</th><th>recv</th><th>loss %</th><th>min ms</th><th>median ms</th><th>avg ms</th><th>max ms</th><th>mdev ms</th></tr>
{{range $addr, $t := .Targets}}<tr><td class="l"><b>{{$addr}}</b></td><td class="l">all</td><td>{{$t.Sent}}</td><td>{{$t.Received}}</td><td>{{printf "%.1f" $t.LossPct}}</td><td>{{printf "%.3f" $t.MinMs}}</td><td>{{printf "%.3f" $t.MedianMs}}</td><td>{{printf "%.3f" $t.AvgMs}}</td><td>{{printf "%.3f" $t.MaxMs}}</td><td>{{printf "%.3f" $t.MdevMs}}</td></tr>
{{range $p, $s := $t.Probes}}<tr><td></td><td class="l">{{$p}}</td><td>{{$s.Sent}}</td><td>{{$s.Received}}</td><td>{{printf "%.1f" $s.LossPct}}</td><td>{{printf "%.3f" $s.MinMs}}</td><td>{{printf "%.3f" $s.MedianMs}}</td><td>{{printf "%.3f" $s.AvgMs}}</td><td>{{printf "%.3f" $s.MaxMs}}</td><td>{{printf "%.3f" $s.MdevMs}}</td></tr>
{{end}}{{end}}</table>
<h2>Merged access log (last {{len .AccessLog}} lines)</h2>
<pre>{{range .AccessLog}}{{.}}
{{end}}</pre>
</body></html>
`

// newPage parses pageHTML.
func newPage() *template.Template { return template.Must(template.New("collector").Parse(pageHTML)) }
