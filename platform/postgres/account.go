package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform"
)

// Deposit implements ledger.Accounts.
func (s *Store) Deposit(ctx context.Context, req platform.TransferRequest) (*platform.Transfer, bool, error) {
	return s.transfer(ctx, platform.Deposit, req)
}

// Withdraw implements ledger.Accounts.
func (s *Store) Withdraw(ctx context.Context, req platform.TransferRequest) (*platform.Transfer, bool, error) {
	return s.transfer(ctx, platform.Withdraw, req)
}

func (s *Store) transfer(ctx context.Context, kind platform.TransferKind, req platform.TransferRequest) (*platform.Transfer, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	if platform.IsSystemAccount(req.Account) {
		return nil, false, platform.Errorf(platform.EINVALID, "account %q is a system account", req.Account)
	}
	var (
		out     *platform.Transfer
		created bool
	)
	cash := platform.CashShard(req.ID)
	err := s.inPipeline(ctx, func(conn *pgx.Conn) error {
		out, created = nil, false
		var (
			balance, newBalance int64
			found               bool
			playerErr, priorErr error
			prior               *platform.Transfer
			reads, writes       pgx.Batch
		)
		// Round trip 1: the reads, each taking the lock it needs.
		reads.Queue("BEGIN")
		if kind == platform.Deposit {
			// A deposit opens the account; if the deposit fails, the
			// rollback takes the new account with it.
			reads.Queue(`INSERT INTO accounts (id, kind) VALUES ($1, 'player') ON CONFLICT (id) DO NOTHING`, req.Account)
		}
		reads.Queue(lockPlayerSQL, req.Account).QueryRow(func(row pgx.Row) error {
			balance, found, playerErr = lockedPlayer(row, req.Account)
			return nil
		})
		// Looked up under the account lock, so a concurrent twin of this
		// request either is visible here or collides on UNIQUE(kind, ref).
		reads.Queue(bookedTransferSQL, string(kind), req.ID).QueryRow(func(row pgx.Row) error {
			prior, priorErr = scanTransfer(row, kind, req.ID)
			return nil
		})
		if err := conn.SendBatch(ctx, &reads).Close(); err != nil {
			return err
		}
		if playerErr != nil {
			return playerErr
		}
		if priorErr != nil {
			return priorErr
		}
		if prior != nil {
			if prior.Account != req.Account || prior.Amount != req.Amount {
				return platform.Errorf(platform.ECONFLICT, "%s %q is already booked for account %q with amount %d",
					kind, req.ID, prior.Account, prior.Amount)
			}
			out = prior
			return nil // inPipeline rolls back the reads
		}
		delta := req.Amount
		if kind == platform.Withdraw {
			if !found || balance < req.Amount {
				return platform.Errorf(platform.EFUNDS, "balance %d of account %q does not cover withdrawal of %d",
					balance, req.Account, req.Amount)
			}
			delta = -req.Amount
		}
		// Round trip 2: the writes and COMMIT. The cash shard is updated
		// last, right before COMMIT in the same batch, so its lock is held
		// only while the server finishes the batch.
		writes.Queue(addBalanceSQL, req.Account, delta).QueryRow(func(row pgx.Row) error {
			return row.Scan(&newBalance)
		})
		if err := queueNewTx(&writes, string(kind), req.ID, map[string]int64{req.Account: delta, cash: -delta}); err != nil {
			return err
		}
		writes.Queue(addBalanceSQL, cash, -delta)
		writes.Queue("COMMIT")
		if err := conn.SendBatch(ctx, &writes).Close(); err != nil {
			return fmt.Errorf("book %s %s: %w", kind, req.ID, err)
		}
		out = &platform.Transfer{Kind: kind, ID: req.ID, Account: req.Account, Amount: req.Amount, Balance: newBalance}
		created = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// bookedTransferSQL reads the transfer booked under kind $1 and id $2: its
// player posting, and the player's balance right after it. Transaction ids
// of one player rise in commit order (see the package doc), so that is the
// balance the original request answered with.
const bookedTransferSQL = `SELECT p.account_id, p.amount,
	(SELECT COALESCE(sum(q.amount), 0) FROM postings q WHERE q.account_id = p.account_id AND q.tx_id <= t.id)
	FROM transactions t
	JOIN postings p ON p.tx_id = t.id
	JOIN accounts a ON a.id = p.account_id AND a.kind = 'player'
	WHERE t.kind = $1 AND t.ref = $2`

// scanTransfer scans the row of bookedTransferSQL: nil when there is no
// such transfer.
func scanTransfer(row pgx.Row, kind platform.TransferKind, id string) (*platform.Transfer, error) {
	var (
		account         string
		amount, balance int64
	)
	err := row.Scan(&account, &amount, &balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s %s: %w", kind, id, err)
	}
	if amount < 0 {
		amount = -amount
	}
	return &platform.Transfer{Kind: kind, ID: id, Account: account, Amount: amount, Balance: balance}, nil
}

// Account implements ledger.Accounts.
func (s *Store) Account(ctx context.Context, id string) (*platform.Account, error) {
	if err := platform.ValidateID("account", id); err != nil {
		return nil, err
	}
	var a platform.Account
	var kind string
	err := s.pool.QueryRow(ctx, `SELECT id, kind, allow_negative, balance FROM accounts WHERE id = $1 AND kind = 'player'`, id).
		Scan(&a.ID, &kind, &a.AllowNegative, &a.Balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, platform.Errorf(platform.ENOTFOUND, "account %q not found", id)
	}
	if err != nil {
		return nil, classify(err)
	}
	a.Kind = platform.AccountKind(kind)
	return &a, nil
}
