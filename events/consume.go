package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStopConsuming, wrapped in what a handler returns, ends Consume with
// that error instead of a retry.
var ErrStopConsuming = errors.New("events: stop consuming")

// Consumer describes one reader of the stream for Consume.
type Consumer struct {
	// Name prefixes the log lines ("notify", "portal sync", ...).
	Name string
	Log  *slog.Logger
	// Batch is how many messages one fetch takes at most.
	Batch int
	// Open makes or finds the durable consumer; it is called again after
	// the consumer was deleted or could not be made.
	Open func(ctx context.Context) (jetstream.Consumer, error)
	// Handle takes one fetched batch (possibly empty) and acknowledges
	// what it has made durable; an error retries the batch after a pause
	// (unacknowledged messages come back after their AckWait).
	Handle func(ctx context.Context, msgs []jetstream.Msg) error
}

// Consume reads the stream through c until ctx ends. While NATS, the
// consumer or the handler's storage is away it keeps trying, with a pause
// growing by 250 ms a failure up to 5 s, so an outage of any length loses
// nothing. It returns nil when ctx ends, or the handler's error that wraps
// ErrStopConsuming.
func Consume(ctx context.Context, c Consumer) error {
	var cons jetstream.Consumer
	failures := 0
	for ctx.Err() == nil {
		err := func() error {
			if cons == nil {
				var err error
				if cons, err = c.Open(ctx); err != nil {
					return err
				}
			}
			batch, err := cons.Fetch(c.Batch, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return fmt.Errorf("fetch: %w", err)
			}
			var msgs []jetstream.Msg
			for m := range batch.Messages() {
				msgs = append(msgs, m)
			}
			if err := c.Handle(ctx, msgs); err != nil {
				return err
			}
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("fetch: %w", err)
			}
			return nil
		}()
		if errors.Is(err, ErrStopConsuming) {
			return err
		}
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
			cons = nil
		}
		failures++
		d := min(time.Duration(failures)*250*time.Millisecond, 5*time.Second)
		c.Log.Warn(c.Name+": reading the stream: will retry", "err", err, "retry_in", d)
		if !Sleep(ctx, d) {
			break
		}
	}
	return nil
}
