// Peer client for bench/compare: Go's net/http (bench/peers/README.md).
//
//	go-client URL REQUESTS CONCURRENCY [http1|h2]
//
// CONCURRENCY goroutines share one http.Client and take requests from a shared counter.
// HTTP/1.1: a Transport that keeps CONCURRENCY connections; h2: HTTP/2 by ALPN, the
// certificate not verified, one connection (MaxConnsPerHost 1). h2c needs
// golang.org/x/net/http2, outside the standard library, so it exits with status 3.
// Prints one line of JSON on stdout.
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	Client      string  `json:"client"`
	Protocol    string  `json:"protocol"`
	Requests    int64   `json:"requests"`
	Ok          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"cpu_s"`
	P50         float64 `json:"p50_us"`
	P99         float64 `json:"p99_us"`
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	seconds := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return seconds(usage.Utime) + seconds(usage.Stime)
}

// Nearest rank: the smallest sample with at least p of the samples at or below it.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return math.Round(sorted[rank-1]*10) / 10
}

// micros rounds seconds to whole microseconds for the JSON line.
func micros(seconds float64) float64 { return math.Round(seconds*1e6) / 1e6 }

func usage(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 4 || len(os.Args) > 5 {
		usage("usage: go-client URL REQUESTS CONCURRENCY [http1|h2c|h2]")
	}
	url := os.Args[1]
	total, err1 := strconv.ParseInt(os.Args[2], 10, 64)
	concurrency, err2 := strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil || total <= 0 || concurrency <= 0 {
		usage("REQUESTS and CONCURRENCY must be positive integers")
	}
	protocol := "http1"
	if len(os.Args) > 4 {
		protocol = os.Args[4]
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = concurrency
	transport.MaxIdleConnsPerHost = concurrency
	transport.MaxConnsPerHost = concurrency
	switch protocol {
	case "http1":
		// An empty TLSNextProto is net/http's documented switch for HTTP/1.1 only (for https).
		transport.ForceAttemptHTTP2 = false
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	case "h2":
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		transport.ForceAttemptHTTP2 = true
		transport.MaxConnsPerHost = 1
	case "h2c":
		fmt.Fprintln(os.Stderr, "unsupported protocol")
		os.Exit(3)
	default:
		usage("PROTOCOL must be http1, h2c or h2")
	}
	client := &http.Client{Transport: transport}

	var issued, ok, errors int64
	var firstError sync.Once
	latencies := make([][]float64, concurrency)
	var wg sync.WaitGroup
	worker := func(mine *[]float64) {
		defer wg.Done()
		for atomic.AddInt64(&issued, 1) <= total {
			start := time.Now()
			response, err := client.Get(url)
			if err == nil {
				_, err = io.Copy(io.Discard, response.Body)
				response.Body.Close()
				if err == nil && response.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", response.StatusCode)
				}
			}
			if err != nil {
				atomic.AddInt64(&errors, 1)
				firstError.Do(func() { fmt.Fprintln(os.Stderr, "first error:", err) })
				continue
			}
			*mine = append(*mine, float64(time.Since(start).Nanoseconds())/1e3)
			atomic.AddInt64(&ok, 1)
		}
	}

	cpuBefore := cpuSeconds()
	start := time.Now()
	wg.Add(concurrency)
	for i := range latencies {
		go worker(&latencies[i])
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpuBefore

	all := make([]float64, 0, ok)
	for _, mine := range latencies {
		all = append(all, mine...)
	}
	sort.Float64s(all)
	line, _ := json.Marshal(result{
		Client: "go", Protocol: protocol, Requests: total, Ok: ok, Errors: errors,
		Concurrency: concurrency, Seconds: micros(wall), CPUSeconds: micros(cpu),
		P50: percentile(all, 0.50), P99: percentile(all, 0.99),
	})
	fmt.Println(string(line))
	if errors != 0 {
		os.Exit(1)
	}
}
