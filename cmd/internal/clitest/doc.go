// Package clitest holds what the commands' tests share: building the real
// commands (Build for one test, Main for a TestMain that builds once), and
// a headless Chromium page on a server's live stage view (/debug/stages,
// package actors/graphview), so that each server's test checks the page
// loads, names every stage and shows its counts move, without repeating the
// browser harness.
//
//	flowchart LR
//	  test["a cmd test"] -- "URL of /debug/stages" --> open["OpenStages: chromium (chromedp)"]
//	  open --> page["StagesPage: ShowsStages, In, WaitIn, Started"]
//	  page -- "reads the live DOM" --> chromium[(headless chromium)]
//
// Chromium is Debian's chromium (Makefile DEB_PACKAGES, installed by make
// deps); a test that cannot find it fails, it does not skip.
//
// Concurrency: a StagesPage belongs to one test goroutine. It starts the
// browser's processes and goroutines (chromedp) and ends them in the test's
// cleanup. It opens no channels of its own.
//
// Limits: every browser call runs under one 90 s deadline per page; WaitIn
// and WaitStarted poll for at most 30 s.
package clitest
