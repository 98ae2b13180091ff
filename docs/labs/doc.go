// Package labs holds the netstages labs (the Markdown files here) and the
// test that keeps them working: every command a lab shows in a console
// block is run in CI by the lab's testscript (testdata/NAME.txtar, run by
// github.com/rogpeppe/go-internal/testscript against freshly built
// binaries), and TestLabsShowOnlyCommandsCIRuns fails when a lab shows a
// command its script does not run.
//
//	flowchart LR
//	  md["docs/labs/NAME.md<br/>console blocks"] -- "each $ line" --> check["TestLabsShowOnlyCommandsCIRuns"]
//	  txtar["testdata/NAME.txtar<br/>exec lines + checks"] --> check
//	  txtar --> run["TestLabs: testscript<br/>cmd/... on PATH"]
//
// The package has no code outside its tests. Scripts run in parallel, each
// lab on ports of its own (17xxx); servers a script starts in the
// background are interrupted when it ends.
package labs
