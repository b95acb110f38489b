// The Go side of the interop tests (test/integration/go-interop.test.ts): Go's own etcd client
// (go.etcd.io/etcd/client/v3, its concurrency package and experimental/recipe), driven line by
// line. Each stdin line is one JSON command {"id", "op", ...}; each runs in its own goroutine and
// answers with one stdout line {"id", "ok": true, ...} or {"id", "error": "..."}. Things held
// across commands (sessions, campaigns, barriers, rw-locks) live under a handle the caller names.
// It talks gRPC to the same etcd the TypeScript client reaches over the gateway, and exits when
// stdin closes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	recipe "go.etcd.io/etcd/client/v3/experimental/recipes"
	"go.uber.org/zap"
)

type command struct {
	ID       string `json:"id"`
	Op       string `json:"op"`
	Handle   string `json:"handle"`
	Name     string `json:"name"`
	Prefix   string `json:"prefix"`
	Value    string `json:"value"`
	Me       string `json:"me"`
	N        int    `json:"n"`
	Workers  int    `json:"workers"`
	Count    int    `json:"count"`
	TTL      int    `json:"ttl"`
	Priority uint16 `json:"priority"`
	Accounts int    `json:"accounts"`
	// Milliseconds the command may take (default 30 s).
	TimeoutMs int `json:"timeoutMs"`
}

type driver struct {
	cli     *clientv3.Client
	out     *json.Encoder
	outMu   sync.Mutex
	handles sync.Map
}

func main() {
	endpoints := flag.String("endpoints", "http://127.0.0.1:2379", "comma-separated etcd endpoints")
	flag.Parse()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(*endpoints, ","),
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer cli.Close()
	d := &driver{cli: cli, out: json.NewEncoder(os.Stdout)}
	d.reply(map[string]any{"id": "ready", "ok": true, "version": clientVersion()})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			d.reply(map[string]any{"id": "", "error": "bad command: " + err.Error()})
			continue
		}
		go d.run(c)
	}
}

func (d *driver) reply(v map[string]any) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	_ = d.out.Encode(v)
}

func (d *driver) run(c command) {
	timeout := 30 * time.Second
	if c.TimeoutMs > 0 {
		timeout = time.Duration(c.TimeoutMs) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	result, err := d.do(ctx, c)
	if err != nil {
		d.reply(map[string]any{"id": c.ID, "error": err.Error()})
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	result["id"] = c.ID
	result["ok"] = true
	d.reply(result)
}

// recipe calls take no context: those that may wait run in a goroutine bounded by ctx.
func bounded(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ttlOf(c command) int {
	if c.TTL > 0 {
		return c.TTL
	}
	return 10
}

func (d *driver) session(c command) (*concurrency.Session, error) {
	return concurrency.NewSession(d.cli, concurrency.WithTTL(ttlOf(c)))
}

func (d *driver) take(handle string) (any, error) {
	v, ok := d.handles.LoadAndDelete(handle)
	if !ok {
		return nil, fmt.Errorf("no handle %q", handle)
	}
	return v, nil
}

func (d *driver) peek(handle string) (any, error) {
	v, ok := d.handles.Load(handle)
	if !ok {
		return nil, fmt.Errorf("no handle %q", handle)
	}
	return v, nil
}

type campaign struct {
	session  *concurrency.Session
	election *concurrency.Election
}

type doubleBarrier struct {
	session *concurrency.Session
	barrier *recipe.DoubleBarrier
}

type rwLock struct {
	session *concurrency.Session
	mutex   *recipe.RWMutex
	write   bool
}

func (d *driver) do(ctx context.Context, c command) (map[string]any, error) {
	switch c.Op {
	case "lock-loop":
		return d.lockLoop(ctx, c)
	case "stm-transfers":
		return d.stmTransfers(ctx, c)

	case "campaign":
		s, err := d.session(c)
		if err != nil {
			return nil, err
		}
		e := concurrency.NewElection(s, c.Name)
		if err := e.Campaign(ctx, c.Value); err != nil {
			s.Close()
			return nil, err
		}
		d.handles.Store(c.Handle, &campaign{s, e})
		return map[string]any{"key": e.Key(), "rev": e.Rev()}, nil
	case "proclaim":
		v, err := d.peek(c.Handle)
		if err != nil {
			return nil, err
		}
		return nil, v.(*campaign).election.Proclaim(ctx, c.Value)
	case "resign":
		v, err := d.take(c.Handle)
		if err != nil {
			return nil, err
		}
		cp := v.(*campaign)
		defer cp.session.Close()
		return nil, cp.election.Resign(ctx)
	case "leader":
		s, err := d.session(c)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		resp, err := concurrency.NewElection(s, c.Name).Leader(ctx)
		if errors.Is(err, concurrency.ErrElectionNoLeader) {
			return map[string]any{"leader": nil}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"leader": string(resp.Kvs[0].Value), "key": string(resp.Kvs[0].Key)}, nil
	case "observe-until":
		// Observes the election until its leader's value is c.Value; answers every value seen.
		s, err := d.session(c)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		seen := []string{}
		for resp := range concurrency.NewElection(s, c.Name).Observe(ctx) {
			value := string(resp.Kvs[0].Value)
			seen = append(seen, value)
			if value == c.Value {
				return map[string]any{"seen": seen}, nil
			}
		}
		return nil, fmt.Errorf("observe ended before %q led (saw %v): %v", c.Value, seen, ctx.Err())

	case "barrier-hold":
		err := recipe.NewBarrier(d.cli, c.Name).Hold()
		if errors.Is(err, recipe.ErrKeyExists) {
			return map[string]any{"held": false}, nil
		}
		return map[string]any{"held": err == nil}, err
	case "barrier-release":
		return nil, recipe.NewBarrier(d.cli, c.Name).Release()
	case "barrier-wait":
		return nil, bounded(ctx, recipe.NewBarrier(d.cli, c.Name).Wait)

	case "double-barrier-enter":
		s, err := d.session(c)
		if err != nil {
			return nil, err
		}
		b := recipe.NewDoubleBarrier(s, c.Name, c.Count)
		if err := bounded(ctx, b.Enter); err != nil {
			s.Close()
			if errors.Is(err, recipe.ErrTooManyClients) {
				return map[string]any{"tooMany": true}, nil
			}
			return nil, err
		}
		d.handles.Store(c.Handle, &doubleBarrier{s, b})
		return map[string]any{"tooMany": false}, nil
	case "double-barrier-leave":
		v, err := d.take(c.Handle)
		if err != nil {
			return nil, err
		}
		b := v.(*doubleBarrier)
		defer b.session.Close()
		return nil, bounded(ctx, b.barrier.Leave)

	case "queue-enqueue":
		return nil, recipe.NewQueue(d.cli, c.Name).Enqueue(c.Value)
	case "queue-dequeue":
		var value string
		err := bounded(ctx, func() (err error) {
			value, err = recipe.NewQueue(d.cli, c.Name).Dequeue()
			return err
		})
		return map[string]any{"value": value}, err
	case "priority-enqueue":
		return nil, recipe.NewPriorityQueue(d.cli, c.Name).Enqueue(c.Value, c.Priority)
	case "priority-dequeue":
		var value string
		err := bounded(ctx, func() (err error) {
			value, err = recipe.NewPriorityQueue(d.cli, c.Name).Dequeue()
			return err
		})
		return map[string]any{"value": value}, err

	case "rw-rlock", "rw-lock":
		s, err := d.session(c)
		if err != nil {
			return nil, err
		}
		m := recipe.NewRWMutex(s, c.Name)
		write := c.Op == "rw-lock"
		lock := m.RLock
		if write {
			lock = m.Lock
		}
		if err := bounded(ctx, lock); err != nil {
			s.Close()
			return nil, err
		}
		d.handles.Store(c.Handle, &rwLock{s, m, write})
		return nil, nil
	case "rw-unlock":
		v, err := d.take(c.Handle)
		if err != nil {
			return nil, err
		}
		l := v.(*rwLock)
		defer l.session.Close()
		if l.write {
			return nil, l.mutex.Unlock()
		}
		return nil, l.mutex.RUnlock()
	}
	return nil, fmt.Errorf("unknown op %q", c.Op)
}

// lockLoop takes the lock c.Name c.N times, spread over c.Workers goroutines (each with its own
// session, since two Mutexes of one session share one key), and runs the shared critical section
// under it each time (see critical). It answers how many it took and what went wrong.
func (d *driver) lockLoop(ctx context.Context, c command) (map[string]any, error) {
	workers := max(c.Workers, 1)
	var mu sync.Mutex
	violations := []string{}
	acquired := 0
	var wg sync.WaitGroup
	var firstErr error
	for w := 0; w < workers; w++ {
		n := c.N / workers
		if w < c.N%workers {
			n++
		}
		wg.Add(1)
		go func(w, n int) {
			defer wg.Done()
			me := fmt.Sprintf("%s-%d", c.Me, w)
			err := func() error {
				s, err := d.session(c)
				if err != nil {
					return err
				}
				defer s.Close()
				for i := 0; i < n; i++ {
					m := concurrency.NewMutex(s, c.Name)
					if err := m.Lock(ctx); err != nil {
						return err
					}
					problem, err := d.critical(ctx, c.Prefix, me, m)
					if uerr := m.Unlock(ctx); err == nil {
						err = uerr
					}
					if err != nil {
						return err
					}
					mu.Lock()
					acquired++
					if problem != "" {
						violations = append(violations, problem)
					}
					mu.Unlock()
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("worker %s: %w", me, err)
				}
				mu.Unlock()
			}
		}(w, n)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return map[string]any{"acquired": acquired, "violations": violations}, nil
}

func pad(rev int64) string { return fmt.Sprintf("%020d", rev) }

// critical is the section both clients run while holding the lock, on keys under prefix:
// "owner" must not exist when it starts (else two hold the lock at once), "fence" holds the
// fencing revision of the previous holder, which must be below ours, and "count" counts the
// sections; "hist/<rev>" records who held it. Every write is fenced with the lock's IsOwner.
func (d *driver) critical(ctx context.Context, prefix, me string, m *concurrency.Mutex) (string, error) {
	owner, fence, count := prefix+"owner", prefix+"fence", prefix+"count"
	enter, err := d.cli.Txn(ctx).
		If(m.IsOwner(), clientv3.Compare(clientv3.Version(owner), "=", 0)).
		Then(clientv3.OpPut(owner, me), clientv3.OpGet(m.Key()), clientv3.OpGet(fence), clientv3.OpGet(count)).
		Else(clientv3.OpGet(owner)).
		Commit()
	if err != nil {
		return "", err
	}
	if !enter.Succeeded {
		kvs := enter.Responses[0].GetResponseRange().Kvs
		if len(kvs) > 0 {
			return fmt.Sprintf("%s got the lock while %s held it", me, kvs[0].Value), nil
		}
		return fmt.Sprintf("%s got the lock but is not its owner", me), nil
	}
	rev := enter.Responses[1].GetResponseRange().Kvs[0].CreateRevision
	fenceKvs := enter.Responses[2].GetResponseRange().Kvs
	countKvs := enter.Responses[3].GetResponseRange().Kvs
	var last, fenceMod, n, countMod int64
	if len(fenceKvs) > 0 {
		last, _ = strconv.ParseInt(string(fenceKvs[0].Value), 10, 64)
		fenceMod = fenceKvs[0].ModRevision
	}
	if len(countKvs) > 0 {
		n, _ = strconv.ParseInt(string(countKvs[0].Value), 10, 64)
		countMod = countKvs[0].ModRevision
	}
	problem := ""
	if rev <= last {
		problem = fmt.Sprintf("%s holds fencing revision %d, not above the previous holder's %d", me, rev, last)
	}
	time.Sleep(time.Duration(rand.Intn(1000)) * time.Microsecond)
	leave, err := d.cli.Txn(ctx).
		If(m.IsOwner(), clientv3.Compare(clientv3.Value(owner), "=", me),
			clientv3.Compare(clientv3.ModRevision(fence), "=", fenceMod),
			clientv3.Compare(clientv3.ModRevision(count), "=", countMod)).
		Then(clientv3.OpPut(fence, pad(rev)), clientv3.OpPut(count, strconv.FormatInt(n+1, 10)),
			clientv3.OpDelete(owner), clientv3.OpPut(prefix+"hist/"+pad(rev), me)).
		Commit()
	if err != nil {
		return "", err
	}
	if !leave.Succeeded && problem == "" {
		problem = fmt.Sprintf("%s (revision %d): someone else wrote owner, fence or count while it held the lock", me, rev)
	}
	return problem, nil
}

// stmTransfers makes c.N transfers between c.Accounts accounts under c.Prefix, each an STM
// transaction (Go's default isolation, serializable snapshot) moving a random amount.
func (d *driver) stmTransfers(ctx context.Context, c command) (map[string]any, error) {
	workers := max(c.Workers, 1)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(time.Now().UnixNano() + int64(w)))
			for i := w; i < c.N; i += workers {
				from, to := r.Intn(c.Accounts), r.Intn(c.Accounts-1)
				if to >= from {
					to++
				}
				_, err := concurrency.NewSTM(d.cli, func(s concurrency.STM) error {
					fk, tk := fmt.Sprintf("%s%d", c.Prefix, from), fmt.Sprintf("%s%d", c.Prefix, to)
					fv, _ := strconv.Atoi(s.Get(fk))
					tv, _ := strconv.Atoi(s.Get(tk))
					amount := min(fv, 1+r.Intn(10))
					s.Put(fk, strconv.Itoa(fv-amount))
					s.Put(tk, strconv.Itoa(tv+amount))
					return nil
				}, concurrency.WithAbortContext(ctx))
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return map[string]any{"transfers": c.N}, nil
}
