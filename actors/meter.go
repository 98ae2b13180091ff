package actors

import (
	"sync"
)

// Meter gathers the live counts of every pipeline that shares it, typically
// all connections of one server. Counting on the data path is one
// uncontended atomic add per item in the pipeline's own stage record; the
// meter only sums them when asked, so connections never contend for it. A
// Meter is safe for concurrent use.
type Meter struct {
	mu        sync.Mutex
	graph     *Graph
	live      map[*Pipeline]struct{}
	totals    map[string]*StageCount // finished pipelines, by stage name
	order     []string
	nStarted  uint64
	nFinished uint64
}

// NewMeter returns an empty meter.
func NewMeter() *Meter {
	return &Meter{live: make(map[*Pipeline]struct{}), totals: make(map[string]*StageCount)}
}

// StageCount is one stage's counts in a Snapshot.
type StageCount struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	In     uint64 `json:"in"`     // items received
	Out    uint64 `json:"out"`    // items sent on
	Queued int    `json:"queued"` // items waiting in its input channel now (live pipelines)
}

// Snapshot is a meter's state at one moment: the graph of its pipelines and
// the counts of each stage summed over finished and live pipelines.
type Snapshot struct {
	Graph    Graph        `json:"graph"`
	Active   int          `json:"active"`   // pipelines running now
	Started  uint64       `json:"started"`  // pipelines ever started
	Finished uint64       `json:"finished"` // pipelines that have stopped
	Stages   []StageCount `json:"stages"`
}

func (m *Meter) started(p *Pipeline) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.graph == nil {
		g := p.Graph()
		m.graph = &g
		for _, s := range p.stages {
			m.order = append(m.order, s.spec.Name)
			m.totals[s.spec.Name] = &StageCount{Name: s.spec.Name, Role: s.spec.Role}
		}
	}
	m.live[p] = struct{}{}
	m.nStarted++
}

func (m *Meter) finished(p *Pipeline) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, p)
	m.nFinished++
	m.addCounts(m.totals, p, false)
}

func (m *Meter) addCounts(into map[string]*StageCount, p *Pipeline, live bool) {
	for _, s := range p.stages {
		c := into[s.spec.Name]
		if c == nil {
			c = &StageCount{Name: s.spec.Name, Role: s.spec.Role}
			into[s.spec.Name] = c
			m.order = append(m.order, s.spec.Name)
		}
		c.In += s.in.Load()
		c.Out += s.out.Load()
		if live {
			c.Queued += s.queued()
		}
	}
}

// Snapshot sums the counts of every pipeline the meter has seen.
func (m *Meter) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := make(map[string]*StageCount, len(m.totals))
	for name, c := range m.totals {
		cp := *c
		sum[name] = &cp
	}
	for p := range m.live {
		m.addCounts(sum, p, true)
	}
	snap := Snapshot{Active: len(m.live), Started: m.nStarted, Finished: m.nFinished}
	if m.graph != nil {
		snap.Graph = *m.graph
	}
	for _, name := range m.order {
		snap.Stages = append(snap.Stages, *sum[name])
	}
	return snap
}

// Graph returns the graph of the first pipeline the meter counted.
func (m *Meter) Graph() Graph {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.graph == nil {
		return Graph{}
	}
	return *m.graph
}
