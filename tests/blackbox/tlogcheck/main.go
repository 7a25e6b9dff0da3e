// Command tlogcheck checks filingd's transparency log (SPEC §8) from the outside, using only Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, an implementation independent of
// the daemon's C++ one.
//
// Build offline (Debian: golang-go, golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogcheck .
//
// Usage:
//
//	tlogcheck -url http://127.0.0.1:PORT [-token TOKEN] [-samples N] [-key VKEY] [-origin O]
//	tlogcheck -note FILE -key VKEY [-origin O]
//
// The first form verifies the signed checkpoint against the served verifier key (or against
// -key, if given, which must then equal the served one), rebuilds the tree head from the C2SP
// tiles (tlog.TileHashReader authenticates every tile against the checkpoint), checks sampled
// events' inclusion proofs and sampled consistency proofs. The second verifies a saved
// checkpoint note. Either prints one line of JSON and exits 0, or prints the failure to stderr
// and exits 1 (2 for a usage error). VKEY may be "@file" to read the key from a file.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	flagURL     = flag.String("url", "", "filingd base URL, e.g. http://127.0.0.1:8080")
	flagToken   = flag.String("token", "", "bearer token for the API")
	flagSamples = flag.Int("samples", 64, "inclusion proofs and consistency proofs to check (all seqs if the tree is smaller)")
	flagNote    = flag.String("note", "", "verify this saved checkpoint note instead of a server")
	flagKey     = flag.String("key", "", "expected verifier key (required with -note); \"@file\" reads it from a file")
	flagOrigin  = flag.String("origin", "", "expected checkpoint origin (default: not checked)")
	flagSeed    = flag.Int64("seed", 0, "random seed for sampling (default: time)")
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	flag.Parse()
	switch {
	case *flagNote != "" && *flagKey != "" && *flagURL == "":
		checkSavedNote()
	case *flagURL != "" && *flagNote == "":
		checkServer()
	default:
		fmt.Fprintln(os.Stderr, "usage: tlogcheck -url URL [-token T] [-samples N] [-key VKEY] [-origin O]\n"+
			"       tlogcheck -note FILE -key VKEY [-origin O]")
		os.Exit(2)
	}
}

func keyArg() string {
	k := *flagKey
	if strings.HasPrefix(k, "@") {
		b, err := os.ReadFile(k[1:])
		if err != nil {
			fail("reading key: %v", err)
		}
		k = string(b)
	}
	return strings.TrimSpace(k)
}

// openCheckpoint verifies the note's signature by vkey and parses the C2SP checkpoint body.
func openCheckpoint(msg []byte, vkey string) (origin string, tree tlog.Tree) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key %q: %v", vkey, err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("checkpoint note: %v", err)
	}
	// tlog.ParseTree wants the go.sum database's fixed first line; a C2SP checkpoint has the
	// log's origin there and is otherwise the same format, so the origin line is swapped.
	nl := strings.IndexByte(n.Text, '\n')
	origin = n.Text[:nl]
	if origin == "" {
		fail("checkpoint has an empty origin line")
	}
	if *flagOrigin != "" && origin != *flagOrigin {
		fail("checkpoint origin is %q, want %q", origin, *flagOrigin)
	}
	tree, err = tlog.ParseTree([]byte("go.sum database tree\n" + n.Text[nl+1:]))
	if err != nil {
		fail("checkpoint body %q: %v", n.Text, err)
	}
	return origin, tree
}

func checkSavedNote() {
	msg, err := os.ReadFile(*flagNote)
	if err != nil {
		fail("%v", err)
	}
	origin, tree := openCheckpoint(msg, keyArg())
	printJSON(map[string]interface{}{"ok": true, "origin": origin, "tree_size": tree.N, "root": tree.Hash.String()})
}

func printJSON(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// ---- HTTP -------------------------------------------------------------------------------

type client struct {
	base     string
	token    string
	http     http.Client
	requests int
}

// get fetches path, insisting on 200 and, if contentType is set, on that media type.
func (c *client) get(path, contentType string) []byte {
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	c.requests++
	resp, err := c.http.Do(req)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		fail("GET %s: reading body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		fail("GET %s: HTTP %d: %.300s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); contentType != "" && !strings.HasPrefix(ct, contentType) {
		fail("GET %s: Content-Type %q, want %s", path, ct, contentType)
	}
	return body
}

func (c *client) getJSON(path string, v interface{}) {
	body := c.get(path, "application/json")
	if err := json.Unmarshal(body, v); err != nil {
		fail("GET %s: %v: %.300s", path, err, body)
	}
}

// tileReader serves Go's tile requests from the daemon's C2SP tile paths. Go names a tile
// "tile/8/L/N[.p/W]"; C2SP drops the height: "tile/L/N[.p/W]".
type tileReader struct {
	c     *client
	cache map[tlog.Tile][]byte
}

func (r *tileReader) Height() int { return 8 }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			out[i] = d
			continue
		}
		path := "/v1/ledger/tile/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
		d := r.c.get(path, "application/octet-stream")
		if len(d) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", path, len(d), t.W*tlog.HashSize)
		}
		out[i] = d
	}
	return out, nil
}

// SaveTiles is called once TileHashReader has authenticated the tiles against the checkpoint.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache[t] = data[i]
	}
}

// ---- the server check -------------------------------------------------------------------

type event struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

type inclusionProof struct {
	LeafIndex int64       `json:"leaf_index"`
	TreeSize  int64       `json:"tree_size"`
	LeafHash  string      `json:"leaf_hash"`
	Hashes    []tlog.Hash `json:"hashes"`
}

type consistencyProof struct {
	From   int64       `json:"from"`
	To     int64       `json:"to"`
	Hashes []tlog.Hash `json:"hashes"`
}

// sample returns up to k distinct values in [lo, hi] (all of them if there are at most k),
// always including both ends, ascending.
func sample(rng *rand.Rand, lo, hi int64, k int) []int64 {
	if hi < lo || k <= 0 {
		return nil
	}
	if hi-lo+1 <= int64(k) {
		var all []int64
		for v := lo; v <= hi; v++ {
			all = append(all, v)
		}
		return all
	}
	set := map[int64]bool{lo: true, hi: true}
	for len(set) < k {
		set[lo+rng.Int63n(hi-lo+1)] = true
	}
	var out []int64
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func checkServer() {
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewSource(seed))
	c := &client{base: strings.TrimRight(*flagURL, "/"), token: *flagToken, http: http.Client{Timeout: 30 * time.Second}}

	vkey := strings.TrimSpace(string(c.get("/v1/ledger/checkpoint/key", "text/plain")))
	if *flagKey != "" && vkey != keyArg() {
		fail("served verifier key %q is not the expected %q", vkey, keyArg())
	}
	origin, tree := openCheckpoint(c.get("/v1/ledger/checkpoint", "text/plain"), vkey)
	summary := map[string]interface{}{"ok": true, "origin": origin, "key": vkey, "tree_size": tree.N,
		"root": tree.Hash.String(), "seed": seed}
	if tree.N == 0 {
		// No tiles exist; RFC 9162's empty-tree hash is SHA-256 of nothing.
		if tree.Hash != tlog.Hash(sha256.Sum256(nil)) {
			fail("empty tree's root is %v, want SHA-256(\"\")", tree.Hash)
		}
		printJSON(summary)
		return
	}

	thr := tlog.TileHashReader(tree, &tileReader{c: c, cache: map[tlog.Tile][]byte{}})
	root, err := tlog.TreeHash(tree.N, thr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if root != tree.Hash {
		fail("tiles give root %v, checkpoint says %v", root, tree.Hash)
	}

	seqs := sample(rng, 1, tree.N, *flagSamples)
	for _, seq := range seqs {
		var page struct {
			Items []event `json:"items"`
		}
		c.getJSON(fmt.Sprintf("/v1/events?after_seq=%d&limit=1", seq-1), &page)
		if len(page.Items) != 1 || page.Items[0].Seq != seq {
			fail("events after seq %d: want exactly event %d, got %+v", seq-1, seq, page.Items)
		}
		data, err := hex.DecodeString(page.Items[0].Hash)
		if err != nil || len(data) != 32 {
			fail("event %d: hash %q is not 64 hex digits", seq, page.Items[0].Hash)
		}
		leaf := tlog.RecordHash(data)

		var p inclusionProof
		c.getJSON(fmt.Sprintf("/v1/ledger/proof/inclusion?seq=%d&size=%d", seq, tree.N), &p)
		if p.LeafIndex != seq-1 || p.TreeSize != tree.N {
			fail("inclusion proof for seq %d: leaf_index %d, tree_size %d; want %d, %d", seq, p.LeafIndex, p.TreeSize, seq-1, tree.N)
		}
		if p.LeafHash != leaf.String() {
			fail("inclusion proof for seq %d: leaf_hash %s, want RecordHash(event hash) = %v", seq, p.LeafHash, leaf)
		}
		if err := tlog.CheckRecord(p.Hashes, tree.N, tree.Hash, seq-1, leaf); err != nil {
			fail("inclusion proof for seq %d in size %d: %v", seq, tree.N, err)
		}
		// The level-0 tile holds the same leaf hash.
		hs, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq-1)})
		if err != nil || hs[0] != leaf {
			fail("tile leaf hash for seq %d: %v %v, want %v", seq, hs, err, leaf)
		}
	}

	// The edges (1 -> N, N-1 -> N), then random pairs.
	type pair struct{ from, to int64 }
	var pairs []pair
	if tree.N >= 2 {
		seen := map[pair]bool{}
		add := func(p pair) {
			if !seen[p] {
				seen[p] = true
				pairs = append(pairs, p)
			}
		}
		add(pair{1, tree.N})
		add(pair{tree.N - 1, tree.N})
		for _, to := range sample(rng, 2, tree.N, *flagSamples) {
			add(pair{1 + rng.Int63n(to-1), to})
		}
	}
	for _, pr := range pairs {
		var p consistencyProof
		c.getJSON(fmt.Sprintf("/v1/ledger/proof/consistency?from=%d&to=%d", pr.from, pr.to), &p)
		if p.From != pr.from || p.To != pr.to {
			fail("consistency proof %d->%d: says from %d to %d", pr.from, pr.to, p.From, p.To)
		}
		hf, err1 := tlog.TreeHash(pr.from, thr)
		ht, err2 := tlog.TreeHash(pr.to, thr)
		if err1 != nil || err2 != nil {
			fail("tree hashes %d, %d from tiles: %v %v", pr.from, pr.to, err1, err2)
		}
		if err := tlog.CheckTree(p.Hashes, pr.to, ht, pr.from, hf); err != nil {
			fail("consistency proof %d->%d: %v", pr.from, pr.to, err)
		}
	}
	summary["inclusion_checked"] = len(seqs)
	summary["consistency_checked"] = len(pairs)
	summary["requests"] = c.requests
	printJSON(summary)
}
