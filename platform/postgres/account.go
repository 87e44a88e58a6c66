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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out, created = nil, false
		if kind == platform.Deposit {
			// A deposit opens the account; if the deposit fails, the
			// rollback takes the new account with it.
			if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, kind) VALUES ($1, 'player') ON CONFLICT (id) DO NOTHING`, req.Account); err != nil {
				return err
			}
		}
		balance, found, err := lockPlayer(ctx, tx, req.Account)
		if err != nil {
			return err
		}
		// Checked under the account lock, so a concurrent twin of this
		// request either is visible here or collides on UNIQUE(kind, ref).
		prior, err := bookedTransfer(ctx, tx, kind, req.ID)
		if err != nil {
			return err
		}
		if prior != nil {
			if prior.Account != req.Account || prior.Amount != req.Amount {
				return platform.Errorf(platform.ECONFLICT, "%s %q is already booked for account %q with amount %d",
					kind, req.ID, prior.Account, prior.Amount)
			}
			out = prior
			return nil
		}
		delta := req.Amount
		if kind == platform.Withdraw {
			if !found || balance < req.Amount {
				return platform.Errorf(platform.EFUNDS, "balance %d of account %q does not cover withdrawal of %d",
					balance, req.Account, req.Amount)
			}
			delta = -req.Amount
		}
		newBalance, err := addBalance(ctx, tx, req.Account, delta)
		if err != nil {
			return err
		}
		if _, err := newTx(ctx, tx, string(kind), req.ID, map[string]int64{
			req.Account: delta, platform.CashAccount: -delta,
		}); err != nil {
			return err
		}
		// Every transfer updates the cash row: last, so its lock is held
		// for the shortest time.
		if _, err := addBalance(ctx, tx, platform.CashAccount, -delta); err != nil {
			return err
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

// bookedTransfer returns the transfer booked under (kind, id), with the
// player's balance right after it, or nil when there is none.
func bookedTransfer(ctx context.Context, tx pgx.Tx, kind platform.TransferKind, id string) (*platform.Transfer, error) {
	var (
		txID    int64
		account string
		amount  int64
	)
	err := tx.QueryRow(ctx, `SELECT t.id, p.account_id, p.amount
		FROM transactions t JOIN postings p ON p.tx_id = t.id
		WHERE t.kind = $1 AND t.ref = $2 AND p.account_id <> 'cash'`, string(kind), id).Scan(&txID, &account, &amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s %s: %w", kind, id, err)
	}
	if amount < 0 {
		amount = -amount
	}
	// Transaction ids of one player rise in commit order (see the package
	// doc), so this is the balance the original request answered with.
	var balance int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(sum(amount), 0) FROM postings WHERE account_id = $1 AND tx_id <= $2`,
		account, txID).Scan(&balance); err != nil {
		return nil, fmt.Errorf("balance after %s %s: %w", kind, id, err)
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
