package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oklog/run"

	"netstages/cmd/internal/cli"
	"netstages/protocols/mail"
	"netstages/protocols/smtp"
	"netstages/transport"
)

const synopsis = `-server HOST:PORT -from ADDR -to ADDR [-to ADDR]... [-cc ADDR] [-bcc ADDR] [-subject S]
       [-body FILE|-] [-html FILE] [-attach FILE]... [-user U] [-password-env VAR|-password-file F] [-auth MECH]
       [-starttls required|opportunistic|off] [-tls] [-ca-file F] [-insecure-skip-verify] [-helo NAME]
       [-timeout D] [-no-chunking] [-dry-run] [-v]`

// options are smtpsend's parsed flags.
type options struct {
	server, from, subject, body, html     string
	to, cc, bcc, attach                   listFlag
	user, passwordEnv, passwordFile, mech string
	starttls, caFile, helo                string
	implicitTLS, insecure, dryRun         bool
	noChunking                            bool
	timeout                               time.Duration
}

// Run is smtpsend's whole life: 0 sent, 1 failed (the server's reply is
// printed), 2 bad usage.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := cli.New("smtpsend", synopsis,
		"Composes a MIME message and sends it over SMTP (STARTTLS or TLS, AUTH PLAIN/LOGIN/XOAUTH2, PIPELINING,\n"+
			"CHUNKING: with both offered the message goes as BDAT in the envelope's flight).\n"+
			"-v prints the dialogue like swaks (-> sent, <- received), credentials redacted. Passwords are\n"+
			"never taken on the command line. Exit 0: accepted for every recipient; 1: failed or some\n"+
			"recipient refused (the server's reply is printed); 2: bad usage.", stderr)
	var o options
	f := cmd.Flags
	f.StringVar(&o.server, "server", "", "SMTP server HOST:PORT (587 for STARTTLS, 465 with -tls, 25)")
	f.StringVar(&o.from, "from", "", "sender, e.g. 'Zoë <zoe@example.com>'")
	f.Var(&o.to, "to", "recipient (repeatable; a comma-separated list is fine)")
	f.Var(&o.cc, "cc", "copy recipient (repeatable)")
	f.Var(&o.bcc, "bcc", "blind copy recipient (repeatable); never appears in the headers")
	f.StringVar(&o.subject, "subject", "", "subject (UTF-8); without it the message has none, which RFC 5322 allows")
	f.StringVar(&o.body, "body", "", "file with the text body, or - for standard input (at most 64 MiB)")
	f.StringVar(&o.html, "html", "", "file with an HTML alternative of the body")
	f.Var(&o.attach, "attach", "file to attach (repeatable); its type comes from the extension")
	f.StringVar(&o.user, "user", "", "AUTH username")
	f.StringVar(&o.passwordEnv, "password-env", "", "name of the environment variable holding the password (or XOAUTH2 token)")
	f.StringVar(&o.passwordFile, "password-file", "", "file holding the password (or XOAUTH2 token); one trailing newline is dropped")
	f.StringVar(&o.mech, "auth", "", "AUTH mechanism: PLAIN, LOGIN or XOAUTH2 (default: the best one offered)")
	f.StringVar(&o.starttls, "starttls", "", "required, opportunistic or off (default: required with -user, else opportunistic)")
	f.BoolVar(&o.implicitTLS, "tls", false, "implicit TLS from the first byte (port 465)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust instead of the system's")
	f.BoolVar(&o.insecure, "insecure-skip-verify", false, "INSECURE: do not verify the server's certificate")
	f.StringVar(&o.helo, "helo", "localhost", "name to greet with (EHLO/HELO)")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "limit for connecting, TLS and AUTH (each reply then has RFC 5321's timeout)")
	f.BoolVar(&o.noChunking, "no-chunking", false, "send the message with DATA even when the server offers CHUNKING (BDAT)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the composed message and the envelope; send nothing")
	ob := addOutboxFlags(f) // -enqueue, -outbox-worker, -bus, -state-dir (outbox.go)
	if code, done := cmd.Parse(args); done {
		return code
	}
	if f.NArg() > 0 {
		return cmd.Usagef("unexpected argument %q", f.Arg(0))
	}
	if err := smtp.CheckLocalName(o.helo); err != nil {
		return cmd.Usagef("-helo: %v", err) // CR/LF would smuggle a command (house rule 9)
	}
	if err := ob.prepare(&o); err != nil {
		return cmd.Usagef("%v", err)
	}
	if ob.worker {
		return ob.runWorker(cmd, &o, stdout, stderr)
	}
	if err := o.check(); err != nil {
		return cmd.Usagef("%v", err)
	}
	msg, err := o.message(stdin)
	if err != nil {
		return failOrUsage(cmd, err)
	}
	raw, err := mail.Compose(msg)
	switch {
	case errors.Is(err, mail.ErrHeaderInjection) || errors.Is(err, mail.ErrTooLong):
		return cmd.Usagef("%v", err) // a header value from the flags (-subject, a name, an -attach file name)
	case err != nil:
		return cmd.Failf("%v", err)
	}
	if o.dryRun {
		fmt.Fprintf(stderr, "smtpsend: dry run: MAIL FROM:<%s> RCPT TO:%s (%d octets)\n", msg.From.Address, strings.Join(msg.Recipients(), ","), len(raw))
		stdout.Write(raw)
		return cli.ExitOK
	}
	if ob.enqueue {
		return ob.enqueueRaw(cmd, msg.From.Address, msg.Recipients(), raw, stdout, stderr)
	}
	cfg, err := o.config(cmd.Verbose, stderr)
	if err != nil {
		return failOrUsage(cmd, err)
	}
	return o.send(cmd, ob, cfg, msg.From.Address, msg.Recipients(), raw, stdout, stderr)
}

// usageError is a bad flag value found after the flag checks (an address
// that does not parse, a -user without a password flag): exit 2, not 1.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// failOrUsage reports err with exit 2 when it is a usageError, else 1.
func failOrUsage(cmd *cli.Command, err error) int {
	if ue := (usageError{}); errors.As(err, &ue) {
		return cmd.Usagef("%v", err)
	}
	return cmd.Failf("%v", err)
}

func (o *options) check() error {
	switch {
	case o.server == "":
		return errors.New("-server is required")
	case checkServer(o.server) != nil:
		return checkServer(o.server)
	case o.from == "":
		return errors.New("-from is required")
	case len(o.to)+len(o.cc)+len(o.bcc) == 0:
		return errors.New("at least one -to, -cc or -bcc is required")
	case o.passwordEnv != "" && o.passwordFile != "":
		return errors.New("give -password-env or -password-file, not both")
	case (o.passwordEnv != "" || o.passwordFile != "") && o.user == "":
		return errors.New("a password needs -user")
	case o.insecure && o.caFile != "":
		return errors.New("-insecure-skip-verify and -ca-file contradict each other")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	switch o.starttls {
	case "", "required", "opportunistic", "off":
	default:
		return fmt.Errorf("-starttls must be required, opportunistic or off, not %q", o.starttls)
	}
	switch strings.ToUpper(o.mech) {
	case "", smtp.MechPlain, smtp.MechLogin, smtp.MechXOAUTH2:
	default:
		return fmt.Errorf("-auth must be PLAIN, LOGIN or XOAUTH2, not %q", o.mech)
	}
	return nil
}

// checkServer checks -server: HOST:PORT with a host and a port in 1-65535
// (or a service name such as submission).
func checkServer(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("-server %q is not HOST:PORT", s)
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 1 || n > 65535) {
		return fmt.Errorf("-server %q: port %d is not in 1-65535", s, n)
	}
	return nil
}

// message reads the body, HTML and attachments and builds the Message.
func (o *options) message(stdin io.Reader) (*mail.Message, error) {
	from, err := netmail.ParseAddress(o.from)
	if err != nil {
		return nil, usageError{fmt.Errorf("-from %q: %w", o.from, err)}
	}
	m := &mail.Message{From: *from, Subject: o.subject}
	for _, l := range []struct {
		flag string
		in   listFlag
		dst  *[]netmail.Address
	}{{"-to", o.to, &m.To}, {"-cc", o.cc, &m.Cc}, {"-bcc", o.bcc, &m.Bcc}} {
		for _, v := range l.in {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				return nil, usageError{fmt.Errorf("%s: %w", l.flag, err)}
			}
			*l.dst = append(*l.dst, list...)
		}
	}
	if o.body != "" {
		text, err := readFile(o.body, stdin)
		if err != nil {
			return nil, fmt.Errorf("-body: %w", err)
		}
		m.Text = string(text)
	}
	if o.html != "" {
		html, err := readFile(o.html, nil)
		if err != nil {
			return nil, fmt.Errorf("-html: %w", err)
		}
		m.HTML = string(html)
	}
	for _, path := range o.attach {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("-attach: %w", err)
		}
		m.Attachments = append(m.Attachments, mail.Attachment{Filename: filepath.Base(path), Data: data})
	}
	return m, nil
}

// maxStdinBody bounds -body - (standard input has no size to check first).
const maxStdinBody = 64 << 20

// readFile reads path, or stdin for "-" when stdin is allowed. Standard
// input over maxStdinBody is an error, never a silently truncated body: one
// byte past the limit is read to tell.
func readFile(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" && stdin != nil {
		data, err := io.ReadAll(io.LimitReader(stdin, maxStdinBody+1))
		if err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
		if len(data) > maxStdinBody {
			return nil, fmt.Errorf("standard input is over %d MiB; nothing was sent", maxStdinBody>>20)
		}
		return data, nil
	}
	return os.ReadFile(path)
}

// config builds the client configuration: TLS trust, credentials, trace.
func (o *options) config(verbose bool, stderr io.Writer) (smtp.Config, error) {
	cfg := smtp.Config{LocalName: o.helo, ImplicitTLS: o.implicitTLS, TLS: &tls.Config{}, NoChunking: o.noChunking}
	cfg.StartTLS = map[string]smtp.TLSPolicy{"required": smtp.TLSRequired, "opportunistic": smtp.TLSOpportunistic, "off": smtp.TLSOff}[o.starttls]
	if o.insecure {
		cfg.TLS.InsecureSkipVerify = true
	}
	if o.caFile != "" {
		pemData, err := os.ReadFile(o.caFile)
		if err != nil {
			return cfg, fmt.Errorf("-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return cfg, fmt.Errorf("-ca-file %s: no PEM certificates in it", o.caFile)
		}
		cfg.TLS.RootCAs = pool
	}
	if o.user != "" {
		secret, err := o.password()
		if err != nil {
			return cfg, err
		}
		cfg.Auth = &smtp.Auth{Mechanism: o.mech, Username: o.user, Password: secret}
		if strings.EqualFold(o.mech, smtp.MechXOAUTH2) {
			cfg.Auth.Token, cfg.Auth.Password = secret, ""
		}
	}
	if verbose {
		var mu sync.Mutex
		cfg.Trace = func(line string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(stderr, line)
		}
	}
	return cfg, nil
}

func (o *options) password() (string, error) {
	switch {
	case o.passwordEnv != "":
		v, ok := os.LookupEnv(o.passwordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("-password-env: $%s is empty or not set", o.passwordEnv)
		}
		return v, nil
	case o.passwordFile != "":
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return "", fmt.Errorf("-password-file: %w", err)
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	}
	return "", usageError{errors.New("-user needs -password-env or -password-file (passwords are never taken on the command line)")}
}

// send runs the session in a run group with a signal handler.
func (o *options) send(cmd *cli.Command, ob *outboxOptions, cfg smtp.Config, from string, rcpts []string, raw []byte, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res *smtp.Result
	var g run.Group
	// Signals: SIGINT or SIGTERM ends the group; the send below is then
	// interrupted, which aborts the session (no QUIT).
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	// Sender: dial, greet, STARTTLS, AUTH, one message, QUIT. Returns when
	// the server has answered QUIT or on the first failure, which ends the
	// group (its result is the group's); interrupted by cancelling its
	// context. It must not cancel that context itself: the signal handler
	// would then return context.Canceled first and mask a success.
	g.Add(func() error {
		var err error
		res, err = sendOne(ctx, cfg, o, from, rcpts, raw)
		return err
	}, func(error) { cancel() })
	err := g.Run()
	if perr := ob.publishResult(cmd.Logger(), raw, res, err); perr != nil {
		fmt.Fprintf(stderr, "smtpsend: -bus: %v\n", perr)
	}
	if res != nil {
		for _, r := range res.Rejected {
			kind := "permanent"
			if r.Err.Temporary() {
				kind = "temporary"
			}
			fmt.Fprintf(stderr, "smtpsend: %s refused (%s): %d %s %s\n", r.Addr, kind, r.Err.Code, r.Err.Enhanced, r.Err.Message)
		}
	}
	if err != nil {
		return cmd.Failf("%v", err)
	}
	fmt.Fprintf(stdout, "smtpsend: accepted for %d of %s: %d %s\n", len(res.Accepted), recipients(len(rcpts)), res.Reply.Code, strings.Join(res.Reply.Lines, " "))
	if len(res.Rejected) > 0 {
		return cli.ExitFail
	}
	return cli.ExitOK
}

func sendOne(ctx context.Context, cfg smtp.Config, o *options, from string, rcpts []string, raw []byte) (*smtp.Result, error) {
	dialCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c, err := smtp.Dial(dialCtx, &transport.System{}, o.server, cfg)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: session not set up (connect, greeting, EHLO, TLS, AUTH) within -timeout %v: %w", o.server, o.timeout, err)
		}
		return nil, err
	}
	res, err := c.Send(ctx, from, rcpts, raw)
	if err != nil {
		quit(c, o.timeout)
		return res, err
	}
	if err := c.Close(); err != nil {
		return res, err
	}
	return res, nil
}

// quit ends a session whose message failed. If the session still runs (the
// server refused the message, or we did, before sending it) it says QUIT
// like any polite client, waiting at most limit for the answer; a session
// already broken is just closed.
func quit(c *smtp.Client, limit time.Duration) {
	if c.Err() != nil {
		c.Abort()
		return
	}
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
		c.Abort()
		<-closed
	}
}

// recipients says "1 recipient" or "N recipients".
func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return strconv.Itoa(n) + " recipients"
}
