package record

import "sync"

// betMemory is how many bets a generation of betAccounts holds: the
// recorder remembers between this many and twice this many of the latest
// bets, so its memory stays bounded on a recording of any length.
const betMemory = 1 << 19

// betAccounts remembers the account of the bets the recorder has seen, so
// that a cash-out, whose body names no account, can be given its bet's.
// It keeps two generations: when the current one is full it becomes the
// previous one, and the oldest is forgotten.
type betAccounts struct {
	mu         sync.Mutex
	cur, prev  map[string]string
	generation int
}

func newBetAccounts(generation int) *betAccounts {
	return &betAccounts{cur: make(map[string]string), generation: generation}
}

// add remembers that bet belongs to account.
func (b *betAccounts) add(bet, account string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cur) >= b.generation {
		b.prev, b.cur = b.cur, make(map[string]string, b.generation)
	}
	b.cur[bet] = account
}

// account is the account of bet, if it is remembered.
func (b *betAccounts) account(bet string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.cur[bet]; ok {
		return a, true
	}
	a, ok := b.prev[bet]
	return a, ok
}
