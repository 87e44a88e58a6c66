package cashier_test

import (
	"context"
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/cashier"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

func TestService(t *testing.T) {
	svc := &cashier.Service{Ledger: postgres.NewStore(pgtest.NewPool(t))}
	ctx := context.Background()
	tr := func(id, account string, amount int64) platform.TransferRequest {
		return platform.TransferRequest{ID: id, Account: account, Amount: amount}
	}
	tests := []struct {
		name    string
		call    func() (*platform.Transfer, bool, error)
		code    string
		balance int64 // balance in the answer, on success
		created bool
	}{
		// The first deposit opens the account.
		{"deposit", func() (*platform.Transfer, bool, error) { return svc.Deposit(ctx, tr("d-1", "a1", 1000)) }, "", 1000, true},
		// Its resend answers the same.
		{"deposit resend", func() (*platform.Transfer, bool, error) { return svc.Deposit(ctx, tr("d-1", "a1", 1000)) }, "", 1000, false},
		// A withdrawal within the balance.
		{"withdraw", func() (*platform.Transfer, bool, error) { return svc.Withdraw(ctx, tr("w-1", "a1", 300)) }, "", 700, true},
		// More than is left.
		{"withdraw short", func() (*platform.Transfer, bool, error) { return svc.Withdraw(ctx, tr("w-2", "a1", 701)) }, platform.EFUNDS, 0, false},
		// The house is not a player.
		{"system account", func() (*platform.Transfer, bool, error) { return svc.Deposit(ctx, tr("d-2", "house", 1)) }, platform.EINVALID, 0, false},
		// Negative amounts are refused, not turned into withdrawals.
		{"negative", func() (*platform.Transfer, bool, error) { return svc.Deposit(ctx, tr("d-3", "a1", -5)) }, platform.EINVALID, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, created, err := tt.call()
			if code := platform.ErrorCode(err); code != tt.code {
				t.Fatalf("got %v, want code %q", err, tt.code)
			}
			if tt.code == "" && (got.Balance != tt.balance || created != tt.created) {
				t.Fatalf("got %+v created=%v, want balance %d created=%v", got, created, tt.balance, tt.created)
			}
		})
	}

	finds := []struct {
		name string
		id   string
		code string
	}{
		// A player that deposited.
		{"player", "a1", ""},
		// Nobody by that name.
		{"unknown", "a2", platform.ENOTFOUND},
		// System accounts are hidden.
		{"system", "suspense", platform.ENOTFOUND},
		// Not an id at all.
		{"invalid", "", platform.EINVALID},
	}
	for _, tt := range finds {
		t.Run("find "+tt.name, func(t *testing.T) {
			a, err := svc.FindAccount(ctx, tt.id)
			if code := platform.ErrorCode(err); code != tt.code {
				t.Fatalf("FindAccount(%q) = %v, want code %q", tt.id, err, tt.code)
			}
			if tt.code == "" && a.Balance != 700 {
				t.Fatalf("balance = %d, want 700", a.Balance)
			}
		})
	}
}
