package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// LedgerBucket is the JetStream key-value bucket that records, per
// Message-ID, that a delivery is under way ("claimed") or done ("sent").
const LedgerBucket = "netstages_outbox"

// ledger states.
const (
	stateClaimed = "claimed"
	stateSent    = "sent"
)

// record is one ledger entry.
type record struct {
	State  string    `json:"state"`
	Worker string    `json:"worker"`
	At     time.Time `json:"at"`
	Reply  string    `json:"reply,omitempty"`
}

// ledger is the "already delivered" record. It lives in JetStream next to
// the outbox stream, not in a worker: every worker on every machine sees it,
// and it survives the worker that wrote it.
type ledger struct {
	kv    nats.KeyValue
	lease time.Duration
	now   func() time.Time
}

// openLedger opens (or creates) the bucket. Records expire after ttl, which
// must be longer than a message can stay in the outbox.
func openLedger(js nats.JetStreamContext, ttl, lease time.Duration) (*ledger, error) {
	kv, err := js.KeyValue(LedgerBucket)
	if errors.Is(err, nats.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(&nats.KeyValueConfig{
			Bucket: LedgerBucket, Description: "netstages outbox: delivered Message-IDs",
			TTL: ttl, Storage: nats.FileStorage, History: 1,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: ledger: %w", err)
	}
	return &ledger{kv: kv, lease: lease, now: time.Now}, nil
}

// key turns a Message-ID into a bucket key (keys allow few characters).
func key(messageID string) string {
	h := sha256.Sum256([]byte(messageID))
	return hex.EncodeToString(h[:16])
}

// claimResult is what begin found.
type claimResult int

const (
	claimed     claimResult = iota // ours: deliver it
	alreadySent                    // sent before: ack, do not send
	busy                           // another attempt holds a live claim
)

// claim is a held claim: its key and revision.
type claim struct {
	key      string
	rev      uint64
	takeover bool // a previous attempt died holding it
}

// begin claims the message for worker: a fresh claim if there is no record,
// the old claim if its lease has run out (the attempt that held it ended
// without recording an outcome: it died, or gave up at its deadline).
func (l *ledger) begin(messageID, worker string) (claim, claimResult, error) {
	k := key(messageID)
	val, err := json.Marshal(record{State: stateClaimed, Worker: worker, At: l.now().UTC()})
	if err != nil {
		return claim{}, 0, err
	}
	rev, err := l.kv.Create(k, val)
	if err == nil {
		return claim{key: k, rev: rev}, claimed, nil
	}
	if !errors.Is(err, nats.ErrKeyExists) {
		return claim{}, 0, fmt.Errorf("outbox: ledger claim: %w", err)
	}
	e, err := l.kv.Get(k)
	if errors.Is(err, nats.ErrKeyNotFound) {
		return claim{}, busy, nil // released in between: try again later
	}
	if err != nil {
		return claim{}, 0, fmt.Errorf("outbox: ledger read: %w", err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return claim{}, 0, fmt.Errorf("outbox: ledger record: %w", err)
	}
	if r.State == stateSent {
		return claim{}, alreadySent, nil
	}
	if l.now().Sub(e.Created()) < l.lease {
		return claim{}, busy, nil
	}
	rev, err = l.kv.Update(k, val, e.Revision())
	if err != nil {
		return claim{}, busy, nil // someone else took it over first
	}
	return claim{key: k, rev: rev, takeover: true}, claimed, nil
}

// sent records the delivery. It is tried a few times: once the server has
// said 250, this write is the only thing between a crash and a duplicate.
func (l *ledger) sent(c claim, worker, reply string) error {
	val, err := json.Marshal(record{State: stateSent, Worker: worker, At: l.now().UTC(), Reply: reply})
	if err != nil {
		return err
	}
	for try := range 3 {
		if _, err = l.kv.Put(c.key, val); err == nil {
			return nil
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	return fmt.Errorf("outbox: ledger record sent: %w", err)
}

// release drops a claim after the server refused the message (nothing was
// delivered), so the next attempt can claim it at once.
func (l *ledger) release(c claim) error {
	if err := l.kv.Delete(c.key, nats.LastRevision(c.rev)); err != nil {
		return fmt.Errorf("outbox: ledger release: %w", err)
	}
	return nil
}
