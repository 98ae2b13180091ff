package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"netstages/actors"
	"netstages/actors/graphview"
)

// maxStatusBytes bounds the status document read by -from.
const maxStatusBytes = 4 << 20

// fetchLive reads a running server's /debug/stages as JSON — the live view
// of actors/graphview ({"pipelines": [...]}) or a bare actors.Snapshot (as
// httpd and proxy serve) — and returns its pipelines annotated with their
// counts.
func fetchLive(ctx context.Context, url string) ([]graphview.Pipeline, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxStatusBytes {
		return nil, fmt.Errorf("%s: status larger than %d bytes", url, maxStatusBytes)
	}
	return decodeLive(body)
}

func decodeLive(body []byte) ([]graphview.Pipeline, error) {
	var st graphview.Status
	if err := json.Unmarshal(body, &st); err == nil && len(st.Pipelines) > 0 {
		return st.Annotated(), nil
	}
	var snap actors.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		return nil, fmt.Errorf("not a stage status: %w", err)
	}
	if len(snap.Graph.Nodes) == 0 {
		return nil, fmt.Errorf("not a stage status: no graph (has the server served anything yet?)")
	}
	return []graphview.Pipeline{graphview.Annotate(snap.Graph.Name, snap)}, nil
}
