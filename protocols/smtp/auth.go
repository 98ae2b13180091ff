package smtp

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// Mechanisms the client speaks.
const (
	MechPlain   = "PLAIN"   // RFC 4616
	MechLogin   = "LOGIN"   // draft-murchison-sasl-login
	MechXOAUTH2 = "XOAUTH2" // Google's OAuth 2.0 SASL mechanism
)

// chooseMechanism picks the configured mechanism, or the best one the
// server offers.
func chooseMechanism(a *Auth, ext Extensions) (string, error) {
	if a.Mechanism != "" {
		m := strings.ToUpper(a.Mechanism)
		if !slices.Contains([]string{MechPlain, MechLogin, MechXOAUTH2}, m) {
			return "", fmt.Errorf("smtp: unknown AUTH mechanism %q", a.Mechanism)
		}
		if !ext.HasAuth(m) {
			return "", fmt.Errorf("%w: %s not offered (server offers %v)", ErrNoAuthMechanism, m, ext.Auth)
		}
		return m, nil
	}
	prefs := []string{MechPlain, MechLogin}
	if a.Token != "" {
		prefs = []string{MechXOAUTH2}
	}
	for _, m := range prefs {
		if ext.HasAuth(m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: server offers %v", ErrNoAuthMechanism, ext.Auth)
}

// stateAuth authenticates when credentials are configured, never in plain
// text except to a loopback server.
func stateAuth(s *session) stateFn {
	a := s.c.cfg.Auth
	if a == nil {
		return stateReady
	}
	if s.c.tls == nil && !isLoopback(s.conn) {
		return s.refuse(ErrInsecureAuth)
	}
	for what, v := range map[string]string{"username": a.Username, "password": a.Password, "token": a.Token} {
		if strings.ContainsAny(v, "\x00\r\n") {
			return s.refuse(fmt.Errorf("%w: NUL, CR or LF in the %s", ErrBadLine, what))
		}
	}
	mech, err := chooseMechanism(a, s.c.ext)
	if err != nil {
		return s.refuse(err)
	}
	s.c.authMech = mech
	switch mech {
	case MechLogin:
		return stateAuthLogin
	case MechXOAUTH2:
		return stateAuthXOAUTH2
	}
	return stateAuthPlain
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// authDone checks the final reply to AUTH: 235.
func (s *session) authDone(r Reply, mech string) stateFn {
	if r.Code != 235 {
		return s.fail(replyError(r, "AUTH "+mech))
	}
	return stateReady
}

func stateAuthPlain(s *session) stateFn {
	a := s.c.cfg.Auth
	ir := b64("\x00" + a.Username + "\x00" + a.Password)
	r, err := s.exchange(Command{Line: "AUTH PLAIN " + ir, Trace: "AUTH PLAIN <redacted>"}, "AUTH", s.c.cfg.Timeouts.Other)
	if err != nil {
		return s.fail(err)
	}
	return s.authDone(r, MechPlain)
}

func stateAuthLogin(s *session) stateFn {
	a, d := s.c.cfg.Auth, s.c.cfg.Timeouts.Other
	steps := []Command{
		{Line: "AUTH LOGIN"},
		{Line: b64(a.Username), Trace: "<redacted username>"},
		{Line: b64(a.Password), Trace: "<redacted password>"},
	}
	for i, c := range steps {
		r, err := s.exchange(c, "AUTH", d)
		if err != nil {
			return s.fail(err)
		}
		if r.Code != 334 || i == len(steps)-1 {
			return s.authDone(r, MechLogin)
		}
	}
	return nil // not reached
}

// stateAuthXOAUTH2 sends the token; on failure the server sends a 334 with
// a JSON error, answered with an empty line, then the final 5xx.
func stateAuthXOAUTH2(s *session) stateFn {
	a, d := s.c.cfg.Auth, s.c.cfg.Timeouts.Other
	ir := b64("user=" + a.Username + "\x01auth=Bearer " + a.Token + "\x01\x01")
	r, err := s.exchange(Command{Line: "AUTH XOAUTH2 " + ir, Trace: "AUTH XOAUTH2 <redacted>"}, "AUTH", d)
	if err != nil {
		return s.fail(err)
	}
	if r.Code == 334 {
		if r, err = s.exchange(Command{Line: ""}, "AUTH", d); err != nil {
			return s.fail(err)
		}
	}
	return s.authDone(r, MechXOAUTH2)
}
