// Package cashier moves money between the outside world and player
// accounts: deposits and withdrawals, each idempotent by its id.
package cashier

import (
	"context"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

// Service implements platform.AccountService on a ledger.
type Service struct {
	Ledger ledger.Accounts
}

var _ platform.AccountService = (*Service)(nil)

// check refuses what no player may do before the ledger is asked.
func check(req platform.TransferRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if platform.IsSystemAccount(req.Account) {
		return platform.Errorf(platform.EINVALID, "account %q is a system account", req.Account)
	}
	return nil
}

// Deposit implements platform.AccountService.
func (s *Service) Deposit(ctx context.Context, req platform.TransferRequest) (*platform.Transfer, bool, error) {
	if err := check(req); err != nil {
		return nil, false, err
	}
	return s.Ledger.Deposit(ctx, req)
}

// Withdraw implements platform.AccountService.
func (s *Service) Withdraw(ctx context.Context, req platform.TransferRequest) (*platform.Transfer, bool, error) {
	if err := check(req); err != nil {
		return nil, false, err
	}
	return s.Ledger.Withdraw(ctx, req)
}

// FindAccount implements platform.AccountService. System accounts are not
// found: they are no player's business.
func (s *Service) FindAccount(ctx context.Context, id string) (*platform.Account, error) {
	if err := platform.ValidateID("account", id); err != nil {
		return nil, err
	}
	if platform.IsSystemAccount(id) {
		return nil, platform.Errorf(platform.ENOTFOUND, "account %q not found", id)
	}
	return s.Ledger.Account(ctx, id)
}
