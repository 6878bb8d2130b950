package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// timeScaleEnv names how many times slower than a normal host the tests run
// (e.g. 8 in the software-emulated QEMU VM of `make vm-test`); default 1.
const timeScaleEnv = "FNRUN_TEST_TIME_SCALE"

// timeScale is the parsed FNRUN_TEST_TIME_SCALE, set by TestMain.
var timeScale = 1.0

// parseTimeScale reads a time scale: empty means 1; anything else must be a
// number of at least 1 (the budgets only ever grow).
func parseTimeScale(s string) (float64, error) {
	if s == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 1000 {
		return 0, fmt.Errorf("%s=%q: want a number from 1 to 1000", timeScaleEnv, s)
	}
	return f, nil
}

// loadTimeScale sets timeScale from the environment.
func loadTimeScale() error {
	f, err := parseTimeScale(os.Getenv(timeScaleEnv))
	if err != nil {
		return err
	}
	timeScale = f
	return nil
}

// slow scales a time budget (a deadline the test waits against, never a
// measured lower bound) by FNRUN_TEST_TIME_SCALE.
func slow(d time.Duration) time.Duration { return time.Duration(float64(d) * timeScale) }

// syncBuffer is an io.Writer a replica writes into while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
