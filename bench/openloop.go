// openloop: make bench's open-loop load generator.  It starts GET
// requests on a fixed schedule (request i is due at start + i/rate)
// over a pool of keep-alive connections (8 at first) that grows as
// needed up to -conns, and counts each request's latency from the moment it was
// due, not from when a free connection sent it: a server that stalls
// is charged for every request it held up, which a closed loop such
// as wrk hides (coordinated omission).  Bounded in count (rate x
// seconds requests) and in time (the schedule, then at most -timeout
// for the last answers).  It prints one JSON object: the requests due,
// answered and failed (connection errors, timeouts, non-2xx, and any
// still unanswered at the end), and the percentiles in ms, from the
// due time (p50_ms ...) and from the send (service_p99_ms).
//
//	openloop -url http://127.0.0.1:PORT/ -rate 3000 -seconds 10 [-conns 512] [-timeout 5s]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	due     time.Duration // latency from the due time
	service time.Duration // latency from the send
	done    bool          // answered or failed before the end
	ok      bool
	non2xx  bool
}

// percentile of sorted durations, in ms (0 for none).
func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := int(p * float64(len(d)))
	if i >= len(d) {
		i = len(d) - 1
	}
	return float64(d[i]) / 1e6
}

func main() {
	url := flag.String("url", "", "the page to load")
	rate := flag.Float64("rate", 1000, "requests started per second")
	seconds := flag.Float64("seconds", 10, "how long the schedule runs")
	conns := flag.Int("conns", 512, "most keep-alive connections at once")
	timeout := flag.Duration("timeout", 5*time.Second, "longest wait for one answer")
	flag.Parse()
	if *url == "" || *rate <= 0 || *seconds <= 0 || *conns < 1 || *conns > 4096 {
		fmt.Fprintln(os.Stderr, "usage: openloop -url URL -rate R -seconds S [-conns 1..4096]")
		os.Exit(2)
	}
	total := int(*rate * *seconds)
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxConnsPerHost:     *conns,
			MaxIdleConnsPerHost: *conns,
			MaxIdleConns:        *conns,
			DisableCompression:  true,
		},
	}
	jobs := make(chan int, total)
	results := make([]result, total)
	var idle, started int64
	var wg sync.WaitGroup
	var mu sync.Mutex // results, and over: no request starts or lands after the end
	over := false
	begin := time.Now()
	worker := func() {
		defer wg.Done()
		for {
			atomic.AddInt64(&idle, 1)
			i, more := <-jobs
			atomic.AddInt64(&idle, -1)
			mu.Lock()
			stop := over
			mu.Unlock()
			if !more || stop {
				return
			}
			dueAt := begin.Add(time.Duration(float64(i) / *rate * 1e9))
			sent := time.Now()
			resp, err := client.Get(*url)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done := time.Now()
			r := result{due: done.Sub(dueAt), service: done.Sub(sent), done: true,
				ok: err == nil}
			if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
				r.ok, r.non2xx = false, true
			}
			mu.Lock()
			if !over {
				results[i] = r
			}
			mu.Unlock()
		}
	}
	// the schedule, on a thread of its own that sleeps in nanosleep:
	// Go's timers wake a millisecond late here, which would count as
	// latency.  Every due request is queued at once; when one is still
	// queued as the next comes due and no worker is idle, one more
	// worker (and so connection) starts, up to -conns.
	runtime.LockOSThread()
	spawn := func() {
		started++
		wg.Add(1)
		go worker()
	}
	for started < int64(*conns) && started < 8 {
		spawn()
	}
	// at most 100 us late, or half a gap at high rates
	nap := syscall.NsecToTimespec(int64(1e9 / *rate / 2))
	if nap.Nano() > 100e3 {
		nap = syscall.NsecToTimespec(100e3)
	}
	next := 0
	for next < total {
		// request i is due at i/rate: those up to now are due
		due := int(float64(time.Since(begin))/1e9**rate) + 1
		if due > total {
			due = total
		}
		for ; next < due; next++ {
			if len(jobs) > 0 && atomic.LoadInt64(&idle) == 0 && started < int64(*conns) {
				spawn()
			}
			jobs <- next
		}
		// the woken workers run now, not when this thread's processor
		// is taken back from the sleep below
		runtime.Gosched()
		_ = syscall.Nanosleep(&nap, nil)
	}
	close(jobs)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(*timeout + time.Second):
	}
	elapsed := time.Since(begin)
	// a request still out or queued now counts as unanswered
	mu.Lock()
	over = true
	mu.Unlock()
	var due, service []time.Duration
	var failed, non2xx, unanswered int
	for _, r := range results {
		switch {
		case r.ok:
			due = append(due, r.due)
			service = append(service, r.service)
		case r.non2xx:
			non2xx++
		case !r.done:
			unanswered++
		default:
			failed++
		}
	}
	sort.Slice(due, func(a, b int) bool { return due[a] < due[b] })
	sort.Slice(service, func(a, b int) bool { return service[a] < service[b] })
	out := map[string]any{
		"rate": *rate, "seconds": *seconds, "due": total, "answered": len(due),
		"connections": started, "elapsed_s": elapsed.Seconds(),
		"failed": failed, "non2xx": non2xx, "unanswered": unanswered,
		"errors":         failed + non2xx + unanswered,
		"achieved_rps":   float64(len(due)) / elapsed.Seconds(),
		"p50_ms":         percentile(due, 0.50),
		"p90_ms":         percentile(due, 0.90),
		"p99_ms":         percentile(due, 0.99),
		"p999_ms":        percentile(due, 0.999),
		"max_ms":         percentile(due, 1),
		"service_p50_ms": percentile(service, 0.50),
		"service_p99_ms": percentile(service, 0.99),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
