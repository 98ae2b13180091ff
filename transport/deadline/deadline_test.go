package deadline_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"

	"netstages/transport/deadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDeadlineFiresRearmsAndDisarms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		d := deadline.New()
		is.True(!deadline.Closed(d.Wait())) // disarmed at first
		start := time.Now()
		d.Set(start.Add(3 * time.Second))
		<-d.Wait()
		is.Equal(time.Since(start), 3*time.Second) // fires exactly on time
		d.Set(time.Time{})
		is.True(!deadline.Closed(d.Wait())) // the zero time disarms a fired deadline
		d.Set(time.Now().Add(-time.Second))
		is.True(deadline.Closed(d.Wait())) // a past time fires at once
		d.Set(time.Now().Add(time.Hour))
		is.True(!deadline.Closed(d.Wait())) // re-armed
		d.Set(time.Now().Add(time.Minute))
		time.Sleep(2 * time.Minute)
		is.True(deadline.Closed(d.Wait())) // the later Set replaced the earlier one
		d.Set(time.Now().Add(time.Hour))
		d.Stop() // no timer outlives the owner
	})
}
