// Package betfair imports Betfair Exchange Stream files (the historical
// data files, or a recording of the stream API: JSON Lines, one stream
// message a line) into a capture, format inplay/v1, as a replay.Stream.
//
// This comment is the mapping's contract: a capture imported from the same
// files with the same Options is the same, event for event, and a change to
// what follows is a change to the contract.
//
// # Files and order
//
// Open reads one or more files, each plain, gzip or bzip2: by its magic
// bytes (1f 8b; "BZh1".."BZh9"), else by its name (.gz, .bz2), else plain.
// The files are merged lazily in time order of the messages' pt (publish
// time, Unix ms); equal pt keep the order of the files as given, then of
// the lines. Each file is read twice: once before the first event, quickly,
// for the header and the window, then as events are read. Memory holds the
// current message of each file and the state of each market, not the files.
//
// t_us is (pt - start) × 1000, where start is the earliest pt of an mcm or
// ccm message in the files (or From, when it is later). A pt that goes back
// within a file keeps the t_us of the line before, so t_us never goes back
// (Stats.Notes counts it). The header has source "betfair", the name from
// Options, start_ms = start, and duration_us to the last mcm or ccm message
// in the window (or to Until, when that comes first). Every feed event has
// producer "betfair" and vendor_ms = the pt of the message that gave it.
//
// # Ids
//
// A market is its Betfair market id ("1.200806927"), which must be a valid
// platform id (platform.CheckID: 1 to 128 bytes, printable, no spaces), or
// its line is bad. A selection is its Betfair selection id in decimal
// ("228749"); a runner with a non-zero handicap (hc, in Asian handicap and
// line markets, where one selection id runs at several handicaps) is the
// id, "@" and the handicap ("47972@-1.5"). Both always fit the platform's
// id rule.
//
// # Market changes (op "mcm")
//
// Each market change (an element of mc) is applied in order: img:true
// first empties the market's books (the image replaces them), then its
// marketDefinition, then its runner changes (rc). The state kept per runner
// is its full book: atb, atl and trd as [price,size] ladders, batb, batl,
// bdatb and bdatl as [level,price,size] ladders, each update replacing the
// size at its price or level and a size of 0 deleting it (an empty trd
// clears the traded ladder); ltp and tv replace. Starting-price fields
// (spn, spf, spb, spl), con, tv of the market and every other field are
// read past.
//
// A definition gives a status event when anything a status event carries
// differs from the market's last one:
//
//	status        OPEN: open; SUSPENDED: suspended; CLOSED: closed; INACTIVE
//	              (a market not yet, or no longer, offered): suspended; an
//	              unknown status: suspended (and a note)
//	in_play       inPlay; written when true, or when it turns false again
//	bet_delay_ms  betDelay × 1000 (capped at 60 s); written when not 0, or
//	              when it returns to 0
//	removed       every runner with status REMOVED or REMOVED_VACANT, in
//	              definition order, in full in every status event
//	adjust        every runner's adjustmentFactor, a percent, as a decimal
//	              string rounded to 4 places ("22.12"), in full in every
//	              status event; absent when no runner has one
//
// Then an odds event holds, for each ACTIVE runner (or one no definition
// names yet) whose shown price changed, its one shown price: the best price
// available to back (batb level 0, else the highest atb price, else bdatb
// level 0), else the last traded price (ltp). A runner whose book has none
// of them is left out, keeping the price it last showed. A closed market
// has no odds events. Prices are rounded to 4 decimals; a price outside
// Betfair's ladder, 1.01 to 1000 (which is also the range of capture odds),
// is left out of the book, with a note.
//
// When a market is CLOSED, a result event follows its status event, once:
// its winners are the runners the definition marks WINNER (several for a
// dead heat or a place market; PLACED is not a winner). It is a void
// (winners empty) only when the definition has a settledTime, no runner is
// WINNER and none is still ACTIVE (every runner LOSER, REMOVED or the
// like): the market was settled with no winner.
// A market closed without a settled definition has no result until one
// comes, and a market whose file ends before it closes has none. A market
// that reopens can be resulted again when it closes again.
//
// # Score feed (op "ccm")
//
// Each cricket change (an element of cc) of a market (its marketId; a
// change without one is left out, with a note) gives an incident event for
// each incident of its incidentListWrapper.incidentList not seen before,
// oldest first. The feed repeats its last few incidents in every message,
// later copies without innings or participantRef, and a correction re-sends
// them with a new actualTime. So an incident is known by (innings, overs,
// incidentType), where an incident without innings takes that of an already
// seen one with the same overs and type (in the current innings, from
// matchStats.currentInnings, or the one before), else the current innings;
// and a key a list holds n times, where no earlier list held it more than
// k, gives n-k new incidents. The incident is:
//
//	OUT          wicket
//	STRIKE       four (value 4), six (value 6), else runs:N (value N)
//	WIDE         wide
//	BYE          bye
//	LEG_BYE      leg_bye
//	NO_BALL      no_ball
//	INNING_END   innings_end
//	other        its type in lower case, other characters as "_", at
//	             most 32 bytes (UNKNOWN_INCIDENT: unknown_incident)
//
// A correction that changes an incident is not retracted: the capture has
// no retraction, and the corrected incident shows only if its key is new.
//
// # Other ops
//
// Messages of other ops (connection, status, heartbeat, ocm, ...) are
// counted in Stats.Messages and skipped.
//
// # Window
//
// Options.From and Until bound the capture, inclusive, by pt: an RFC 3339
// time, or an offset from the first time any market in the files turned in
// play (a definition with inPlay true): "inplay-10m", "inplay+1h". Messages
// before From are folded into the state without events; at t_us 0 (= From)
// the capture opens with, for each market seen before From, in the order
// first seen, one status event and one odds event (every ACTIVE runner's
// shown price): the state as of From, vendor_ms the market's last pt. A
// market closed and resulted before From is left out (Stats.Omitted).
// Incidents before From are not emitted, but are remembered as seen. The
// import ends at the first message after Until.
//
// # Bad input
//
// A line is bad when it is not a JSON object, has no op, is an mcm or ccm
// without a pt (or with one that is not a Unix time in ms), or holds, in a
// field the importer uses, a value of the wrong JSON type or shape (a
// ladder entry that is not [price,size] or [level,price,size] of finite
// numbers, a level that is not a whole number from 0 to 99, an id or a
// time that is not a whole number, a market or runner without an id, a
// market id the platform refuses), or is longer than MaxLine. Keys match
// exactly, as the format spells them. A bad line is
// an error naming its file and line (*LineError: "cricket.jsonl line 812:
// ..."), and nothing of it is applied; with Options.SkipBad it is counted
// (Stats.BadLines) and the import goes on. Fields the importer does not
// know are ignored, so newer files still import. Values it can read past
// (a price off the ladder, a negative size, an unknown market status) are
// counted in Stats.Notes. Blank lines are passed over. A gzip or bzip2
// stream that ends early or is corrupt is an error naming the file and the
// line where reading stopped, with or without SkipBad: never a silently
// short capture.
package betfair
