package graphview

// pageHTML is the live page and its refreshed fragment ("live").
const pageHTML = `{{define "live"}}<div class="picture">{{.SVG}}</div>
{{range .Pipelines}}<section class="pipeline" data-title="{{.Title}}">
<h2>{{.Title}}</h2>
<p class="conns"><span class="active">{{.Active}}</span> active (connections or runs) · <span class="started">{{.Started}}</span> started · <span class="finished">{{.Finished}}</span> finished</p>
<table>
<thead><tr><th>stage</th><th>role</th><th>does</th><th>in</th><th>out</th><th>queued</th></tr></thead>
<tbody>{{range .Rows}}
<tr data-stage="{{.Name}}" class="role-{{.Role}}"><td class="name">{{.Name}}</td><td class="role">{{.Role}}</td><td class="does">{{.Does}}</td><td class="in">{{.In}}</td><td class="out">{{.Out}}</td><td class="queued">{{.Queued}}</td></tr>{{end}}
</tbody>
</table>
</section>
{{end}}<p class="time">updated {{clock .Time}}</p>{{end}}{{if .Fragment}}{{template "live" .}}{{else}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>stages</title>
<noscript><meta http-equiv="refresh" content="2"></noscript>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
.picture svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
td.in, td.out, td.queued { text-align: right; font-variant-numeric: tabular-nums; }
.role-reader td.name { background: #cfe8fc; } .role-framer td.name { background: #d9f2d9; }
.role-parser td.name { background: #fff2cc; } .role-handler td.name { background: #fde0c5; }
.role-writer td.name { background: #e8d9f7; } .role-fault td.name { background: #f8cecc; }
.error { color: #a00; } .time { color: #777; font-size: 0.9em; }
</style>
</head>
<body>
<h1>Stages, live</h1>
<p>Each box is a stage; <b>in</b>/<b>out</b> count batches of items since the server started (all connections),
<b>queued</b> is what waits in the stage's input channel now. The page refreshes every second.</p>
<div id="live">{{template "live" .}}</div>
<script>
(function () {
  var live = document.getElementById("live");
  function refresh() {
    fetch(location.pathname + "?format=fragment", {cache: "no-store"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { live.innerHTML = html; })
      .catch(function () {})
      .finally(function () { setTimeout(refresh, 1000); });
  }
  setTimeout(refresh, 1000);
})();
</script>
</body>
</html>
{{end}}
`
