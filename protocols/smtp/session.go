package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"netstages/actors"
)

// stateFn is one state of the session; it returns the next, or nil when
// the session (or this phase of it, before TLS) is over (text/template/parse
// lex.go's shape, house rule 12).
type stateFn func(*session) stateFn

// session is the handler stage's state: replies come in, commands go out.
type session struct {
	c       *Client
	conn    net.Conn
	ready   func()
	state   stateFn
	in      *actors.Input[[]Reply]
	out     *actors.Output[[]Command]
	ctx     context.Context
	queue   []Reply // replies received, not yet consumed
	errs    ioErrors
	job     *job // the message in flight
	next    *job // the next message, its envelope already pipelined
	upgrade bool // the phase ended for STARTTLS
	err     error

	// What arrived behind the reply to STARTTLS is refused: framer holds
	// partial replies, parsed counts replies parsed, consumed those the
	// session read.
	framer   *Framer
	parsed   atomic.Int64
	consumed int64
}

func newSession(c *Client, conn net.Conn, ready func()) *session {
	return &session{c: c, conn: conn, ready: ready, framer: NewFramer()}
}

// countParsed counts the replies the parser stage passes on.
func (s *session) countParsed(f actors.StepFunc[[]RawReply, []Reply]) actors.StepFunc[[]RawReply, []Reply] {
	return func(ctx context.Context, raws []RawReply, out *actors.Output[[]Reply]) error {
		s.parsed.Add(int64(len(raws)))
		return f(ctx, raws, out)
	}
}

// trailing reports, once the phase's pipeline has stopped, whether the
// server sent anything after the reply the session read last: a whole
// reply the session never took, or part of one still in the framer.
func (s *session) trailing() bool {
	return s.parsed.Load() > s.consumed || s.framer.Buffered() > 0
}

// stage is the session as a pipeline stage: it runs the state machine.
func (s *session) stage(ctx context.Context, in *actors.Input[[]Reply], out *actors.Output[[]Command]) error {
	s.ctx, s.in, s.out = ctx, in, out
	for st := s.state; st != nil; {
		st = st(s)
	}
	return nil
}

// fail ends the session with err; the messages in flight fail with it.
func (s *session) fail(err error) stateFn {
	s.err = err
	for _, j := range []*job{s.job, s.next} {
		if j != nil {
			j.finish(err)
		}
	}
	s.job, s.next = nil, nil
	return nil
}

// refuse ends the session on a decision of ours while the channel is
// sound (credentials would go in clear, STARTTLS is required but missing):
// it says QUIT first, as RFC 5321 §4.1.1.10 asks of a client, whatever the
// server answers, then fails with err.
func (s *session) refuse(err error) stateFn {
	s.exchange(Command{Line: "QUIT"}, "QUIT", s.c.cfg.Timeouts.Other)
	return s.fail(err)
}

// send hands commands to the writer.
func (s *session) send(cmds ...Command) bool {
	return s.out.Send(cmds)
}

// await returns the next reply, waiting at most d for it.
func (s *session) await(what string, d time.Duration) (Reply, error) {
	if len(s.queue) == 0 {
		s.conn.SetReadDeadline(time.Now().Add(d))
		batch, ok := s.in.Recv()
		if !ok {
			return Reply{}, s.inputEnded(what, d)
		}
		s.queue = batch
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	s.consumed++
	if r.Err != nil {
		return r, fmt.Errorf("smtp: reply to %s: %w", what, r.Err)
	}
	return r, nil
}

// inputEnded says why no reply came.
func (s *session) inputEnded(what string, d time.Duration) error {
	err := s.errs.get()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &TimeoutError{Command: what, After: d}
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("smtp: waiting for the reply to %s: %w", what, err)
	case s.ctx.Err() != nil:
		return fmt.Errorf("smtp: waiting for the reply to %s: %w", what, ErrClosed)
	}
	return fmt.Errorf("smtp: server closed the connection before replying to %s: %w", what, io.ErrUnexpectedEOF)
}

// exchange sends one command and waits for its reply.
func (s *session) exchange(c Command, what string, d time.Duration) (Reply, error) {
	if !s.send(c) {
		return Reply{}, s.inputEnded(what, d)
	}
	return s.await(what, d)
}

// stateGreeting waits for the server's 220 (RFC 5321 §4.3.1; 554 means no
// service).
func stateGreeting(s *session) stateFn {
	r, err := s.await("greeting", s.c.cfg.Timeouts.Greeting)
	if err != nil {
		return s.fail(err)
	}
	if r.Code != 220 {
		return s.fail(replyError(r, ""))
	}
	return stateEhlo
}

// stateEhlo greets with EHLO and reads the extensions; a server that does
// not know EHLO gets HELO.
func stateEhlo(s *session) stateFn {
	cmd := "EHLO " + s.c.cfg.LocalName
	r, err := s.exchange(Command{Line: cmd}, "EHLO", s.c.cfg.Timeouts.Other)
	switch {
	case err != nil:
		return s.fail(err)
	case r.Code == 250:
		s.c.ext = ParseExtensions(r.Lines)
		return stateStartTLS
	case r.Code >= 500 && r.Code <= 504 || r.Code == 550:
		return stateHelo
	}
	return s.fail(replyError(r, cmd))
}

func stateHelo(s *session) stateFn {
	cmd := "HELO " + s.c.cfg.LocalName
	r, err := s.exchange(Command{Line: cmd}, "HELO", s.c.cfg.Timeouts.Other)
	if err != nil {
		return s.fail(err)
	}
	if r.Code != 250 {
		return s.fail(replyError(r, cmd))
	}
	s.c.ext = Extensions{Keywords: map[string]string{}}
	return stateStartTLS
}

// stateStartTLS asks for TLS by the policy; on 220 this phase ends and the
// client starts a new pipeline over the TLS connection.
func stateStartTLS(s *session) stateFn {
	policy := s.c.cfg.StartTLS
	if s.c.tls != nil || policy == TLSOff {
		return stateAuth
	}
	if !s.c.ext.Has("STARTTLS") {
		if policy == TLSRequired {
			return s.refuse(ErrNoStartTLS)
		}
		return stateAuth
	}
	r, err := s.exchange(Command{Line: "STARTTLS"}, "STARTTLS", s.c.cfg.Timeouts.Other)
	switch {
	case err != nil:
		return s.fail(err)
	case r.Code != 220 && policy == TLSRequired:
		return s.fail(replyError(r, "STARTTLS"))
	case r.Code != 220:
		return stateAuth
	case len(s.queue) > 0 || s.in.Pending() > 0:
		return s.fail(ErrSTARTTLSInjection)
	}
	s.upgrade = true
	return nil
}

// stateReady tells NewClient the session can take mail.
func stateReady(s *session) stateFn {
	s.ready()
	return stateIdle
}

// stateIdle waits for the next message or for Close.
func stateIdle(s *session) stateFn {
	s.conn.SetReadDeadline(time.Time{})
	select {
	case j := <-s.c.jobs:
		s.job = j
		return stateEnvelope
	case <-s.c.quit:
		return stateQuit
	case <-s.ctx.Done():
		return s.fail(ErrClosed)
	}
}

// envelope is a message's MAIL, RCPT… and DATA commands.
func (s *session) envelope(j *job) []Command {
	mail := "MAIL FROM:<" + j.from + ">"
	if s.c.ext.Has("SIZE") {
		mail += fmt.Sprintf(" SIZE=%d", j.info.Size)
	}
	if j.info.EightBit && s.c.ext.Has("8BITMIME") {
		mail += " BODY=8BITMIME"
	}
	if j.utf8 {
		mail += " SMTPUTF8"
	}
	cmds := []Command{{Line: mail}}
	for _, rcpt := range j.to {
		cmds = append(cmds, Command{Line: "RCPT TO:<" + rcpt + ">"})
	}
	return append(cmds, Command{Line: "DATA"})
}

func (s *session) pipelining() bool {
	return !s.c.cfg.NoPipelining && s.c.ext.Has("PIPELINING")
}

// chunking reports whether messages go by "BDAT n LAST" in the same flight
// as their envelope (RFC 3030 with RFC 2920).
func (s *session) chunking() bool {
	return !s.c.cfg.NoChunking && s.c.ext.Has("CHUNKING") && s.pipelining()
}

// chunked is a message's whole flight with CHUNKING: MAIL, RCPT…, then
// "BDAT n LAST" with the content in place of DATA.
func (s *session) chunked(j *job) []Command {
	cmds := s.envelope(j)
	cmds[len(cmds)-1] = Command{Line: fmt.Sprintf("BDAT %d LAST", j.info.Size), Chunk: &Chunk{Msg: j.msg, Info: j.info}}
	return cmds
}

// stateEnvelope sends the envelope: all at once with PIPELINING (RFC 2920),
// otherwise MAIL alone and the rest as replies come. With CHUNKING the
// content goes in the same flight.
func stateEnvelope(s *session) stateFn {
	cmds := s.envelope(s.job)
	switch {
	case s.chunking():
		cmds = s.chunked(s.job)
	case !s.pipelining():
		cmds = cmds[:1]
	}
	if !s.send(cmds...) {
		return s.fail(s.inputEnded("MAIL", s.c.cfg.Timeouts.Mail))
	}
	return stateEnvelopeReplies
}

// stateEnvelopeReplies reads the replies to MAIL, each RCPT and DATA.
func stateEnvelopeReplies(s *session) stateFn {
	j, t := s.job, s.c.cfg.Timeouts
	cmds := s.envelope(j)
	piped := s.pipelining()
	r, err := s.await("MAIL", t.Mail)
	if err != nil {
		return s.fail(err)
	}
	mailErr := error(nil)
	if r.Code != 250 {
		mailErr = replyError(r, cmds[0].Line)
		if !piped {
			return s.finishJob(mailErr, stateIdle)
		}
	}
	for i, rcpt := range j.to {
		if !piped && !s.send(cmds[1+i]) {
			return s.fail(s.inputEnded("RCPT", t.Rcpt))
		}
		r, err := s.await("RCPT", t.Rcpt)
		if err != nil {
			return s.fail(err)
		}
		if r.Code == 250 || r.Code == 251 {
			j.res.Accepted = append(j.res.Accepted, rcpt)
		} else {
			j.res.Rejected = append(j.res.Rejected, RecipientError{Addr: rcpt, Err: replyError(r, cmds[1+i].Line)})
		}
	}
	if !piped && len(j.res.Accepted) == 0 {
		return s.finishJob(j.res.Rejected[0].Err, stateReset)
	}
	if s.chunking() {
		return s.afterChunk(mailErr)
	}
	if !piped && !s.send(cmds[len(cmds)-1]) {
		return s.fail(s.inputEnded("DATA", t.DataInit))
	}
	r, err = s.await("DATA", t.DataInit)
	if err != nil {
		return s.fail(err)
	}
	return s.afterData(r, mailErr)
}

// afterChunk reads the reply to "BDAT n LAST", the message's final reply,
// and ends the transaction: RSET when one was opened and failed (RFC 3030
// §2: a failed BDAT fails the whole transaction).
func (s *session) afterChunk(mailErr error) stateFn {
	j := s.job
	r, err := s.await("BDAT", s.c.cfg.Timeouts.DataTerm)
	if err != nil {
		return s.fail(err)
	}
	j.res.Reply = r
	failure := s.envelopeFailure(mailErr)
	if failure == nil && r.Code != 250 {
		failure = replyError(r, "BDAT")
	}
	if failure == nil {
		return s.finishJob(nil, stateIdle)
	}
	return s.failJob(failure, mailErr)
}

// envelopeFailure is why the message cannot be delivered after the replies
// to MAIL and RCPT: MAIL refused, or every recipient refused (the first
// refusal); nil when it can.
func (s *session) envelopeFailure(mailErr error) error {
	if mailErr == nil && len(s.job.res.Accepted) == 0 {
		return s.job.res.Rejected[0].Err
	}
	return mailErr
}

// failJob ends the message in flight with failure and clears the
// transaction with RSET, unless MAIL was refused and none was opened.
func (s *session) failJob(failure, mailErr error) stateFn {
	if mailErr != nil {
		return s.finishJob(failure, stateIdle)
	}
	return s.finishJob(failure, stateReset)
}

// afterData decides what follows the reply to DATA.
func (s *session) afterData(r Reply, mailErr error) stateFn {
	failure := s.envelopeFailure(mailErr)
	switch {
	case r.Code == 354 && failure != nil:
		// RFC 2920 §3.1: nothing valid to deliver, so send an empty message
		// and drop the reply.
		if !s.send(Command{Data: []byte{}}) {
			return s.fail(s.inputEnded("end of data", s.c.cfg.Timeouts.DataTerm))
		}
		if _, err := s.await("end of data", s.c.cfg.Timeouts.DataTerm); err != nil {
			return s.fail(err)
		}
		return s.finishJob(failure, stateReset)
	case r.Code == 354:
		return stateContent
	case failure == nil:
		failure = replyError(r, "DATA")
	}
	return s.failJob(failure, mailErr)
}

// stateContent sends the message; with PIPELINING, the next message's
// envelope goes in the same flight when it is already waiting (RFC 2920
// §3.1 allows content to start a group).
func stateContent(s *session) stateFn {
	cmds := []Command{{Data: s.job.msg}}
	if s.pipelining() {
		select {
		case j := <-s.c.jobs:
			s.next = j
			cmds = append(cmds, s.envelope(j)...)
		default:
		}
	}
	if !s.send(cmds...) {
		return s.fail(s.inputEnded("end of data", s.c.cfg.Timeouts.DataTerm))
	}
	return stateDataEnd
}

// stateDataEnd reads the reply to the final "."; the transaction is over
// either way.
func stateDataEnd(s *session) stateFn {
	r, err := s.await("end of data", s.c.cfg.Timeouts.DataTerm)
	if err != nil {
		return s.fail(err)
	}
	s.job.res.Reply = r
	var failure error
	if r.Code != 250 {
		failure = replyError(r, "end of data")
	}
	if s.next != nil {
		s.finishJob(failure, nil)
		s.job, s.next = s.next, nil
		return stateEnvelopeReplies
	}
	return s.finishJob(failure, stateIdle)
}

// finishJob completes the message in flight and goes on to next.
func (s *session) finishJob(err error, next stateFn) stateFn {
	s.job.finish(err)
	s.job = nil
	return next
}

// stateReset clears a half-made transaction.
func stateReset(s *session) stateFn {
	r, err := s.exchange(Command{Line: "RSET"}, "RSET", s.c.cfg.Timeouts.Other)
	if err != nil {
		return s.fail(err)
	}
	if r.Code != 250 {
		return s.fail(replyError(r, "RSET"))
	}
	return stateIdle
}

// stateQuit says goodbye; whatever the server answers, the session is over.
func stateQuit(s *session) stateFn {
	if _, err := s.exchange(Command{Line: "QUIT"}, "QUIT", s.c.cfg.Timeouts.Other); err != nil {
		return s.fail(fmt.Errorf("%w (QUIT: %w)", ErrClosed, err))
	}
	s.err = ErrClosed
	return nil
}

// isLoopback reports whether conn's peer is on a loopback address.
func isLoopback(conn net.Conn) bool {
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		host = conn.RemoteAddr().String()
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
