// Package bettors overlays a seeded population of bettors on any capture's
// feed: a vendor recording has odds but no bets, and a generated match needs
// bettors who behave like people. Overlay reads a capture as a
// replay.Stream and returns its events unchanged, merged in t_us order with
// the bettors' deposits, bets, cash-outs and withdrawals. It streams: it
// holds one event of the source, the state of each market and each bettor,
// and the events it has planned but not yet returned, never the capture.
// The same seed and source give the same bytes, on every machine (draw.go
// says how).
//
// # The model
//
// Figures marked (assumption) are this package's choice, made to look
// plausible, where no public figure was found; the others name a source.
//
// Decisions. The population makes decisions (a bet, or a cash-out) as one
// Poisson process whose rate is Config.Rate per bettor per hour while a
// market is in play. Each decision is made by one bettor, drawn by
// activity (below), at a moment v; the request it makes reaches the
// platform a reaction time later, at t = v + r, so what a bettor asks for is
// what the feed said at t - r. The reaction time is log-normal with median
// 600 ms, clamped to 200 ms - 2 s (assumption: reading the price, typing a
// stake, confirming, and a phone's network).
//
// Pre-match and in play. A market is in play or not as its status events'
// in_play say (a market whose status never says is in play: before that
// field, every capture was). Only open markets take decisions. While any
// open market is in play the base rate is Rate; while only pre-match ones
// are open it is Rate × Config.PreMatch. In-play is the larger share of a
// modern book's volume: about 55% of European betting volume in 2019 (the
// European Gaming and Betting Association's figure, as cited by Ötting,
// Michels, Langrock and Deutscher, "The reaction to news in live betting",
// 2021, https://arxiv.org/abs/2108.00821), and 70% at Paddy Power and 80%
// at Bet365 by their own account in 2018 (Sports Business Journal,
// https://www.sportsbusinessjournal.com/SB-Blogs/COVID19-OpEds/2021/11/03-Burton.aspx).
// That volume is placed over very different lengths of time: the Betfair
// cricket recording in the workspace (shared/data/betfair) was open 144
// hours before the start and 3.8 hours in play. If in-play is 55-70% of the
// volume and the pre-match market lasts 12-40 times as long as play, the
// pre-match rate per hour is (1-S)/S divided by that ratio: 1/100 to 1/15
// of the in-play rate. DefaultPreMatch is 0.03 (1/33), which gives that
// cricket recording about half its bets in play, in the range above. A
// generated match, whose pre-match phase stands for the last, busiest hour
// before kick-off compressed like the match, sets its own (replay/synth).
//
// Bursts. News brings bettors: stakes in live betting jump after goals
// (Ötting et al., above, who find the market overreacts to recent news).
// Each market has a burst level, a multiple of the base rate added to it,
// that decays by e every 20 s and that these raise (assumption, for the
// sizes and the decay): an incident (a goal, a wicket) +3; the market
// reopening after a suspension +2; a price moving by more than 20% in one
// odds event +1.5; at most +5 in all, over every market: one population's
// attention is shared, so two goals at once do not double the burst, as two
// matches in play do not double the base rate. A goal that suspends a
// market and reprices it on reopening thus brings about six times the base
// rate for some seconds, decaying over a minute or so. A decision goes to
// an open market with a chance in proportion to its share of the base rate
// (the open markets share it by their base) plus its burst; so a burst goes
// where the news is.
//
// Selections and prices. On the market, the bettor backs a priced selection
// that has not been removed, in proportion to its implied probability
// (1/odds): bettors back what the book thinks likely (assumption; it keeps
// the book balanced as a bookmaker expects). The bet asks for the price the
// bettor saw at v. If by t the market is no longer open, or the selection
// lost its price, the bet is not sent: an app does not send a bet on a
// suspended market. A market is never bet on before its first status event.
//
// Price policy. Each bettor has one, a setting of their account, carried by
// each of their bets (absent means exact, as the capture format says) and
// never sent to the platform. Operators offer these three settings, under
// names like "don't accept odds changes", "accept higher odds" and "accept
// all odds changes" (for example https://betwarrior.zendesk.com/hc/en-ca/articles/11748422669969-Odds-Change-Feature).
// DefaultPolicyMix is 60% exact, 25% better, 15% any (assumption: no
// operator publishes the shares; exact is the usual default, and the other
// two are opt-in).
//
// Activity. Bettors differ enormously: in bwin's records of actual
// betting, a small group of the most involved bettors accounts for a
// disproportionate share of the bets (LaBrie, LaPlante, Nelson, Schumann and
// Shaffer, "Assessing the playing field", Journal of Gambling Studies,
// 2007, https://doi.org/10.1007/s10899-007-9067-3; and for a 2015 cohort,
// Grossman et al., "Changes to the playing field",
// https://postersmysell.psych.hms.harvard.edu/2021/03/24/alessandra-grossman/).
// Each bettor's activity weight is Pareto with tail index 1.16, the index
// of the 80/20 rule (the top 20% make about 80% of the decisions in a large
// population), capped at 200 times the smallest (assumption, for the
// index and the cap). So in a short capture many bettors never act.
//
// Stakes. Grossman et al. (above) find a median bet of 6.10 euros. Each
// bettor's own median stake is log-normal around 610 minor units with a
// spread (sigma of its logarithm) of 0.8, and each of their stakes is
// log-normal around that median with a spread of 0.7 (assumption, for both
// spreads), rounded to a multiple of 50 minor units, at least 100 and at
// most Config.MaxStake.
//
// Money. A bettor deposits before their first bet: their first decision is
// a deposit of 8 to 30 of their median stakes, in whole 1000s of minor
// units (assumption), after which they look again 2 to 10 s later. A bet
// beyond what they have left becomes a top-up deposit instead (at least
// what the bet needs), with the same pause. What they have left assumes
// every bet they placed is accepted and lost and no cash-out is paid, so
// the overlay never plans a bet or a withdrawal the account might not
// cover, whatever the platform decides.
//
// Cash-outs. Cash-out is most used in play, and mostly to take a profit
// while ahead rather than to cut a loss (Lopez-Gonzalez and Griffiths,
// "'Cashing out' in sports betting: implications for problem gambling and
// regulation", http://infohub.gambleaware.org/document/lopez-gonzalez-h-griffiths-m-d/).
// Each bettor watches their last 4 bets that went out in play at the price
// the market had when they were sent (bets that look accepted). When a
// bettor next decides and one of them is on an open in-play market whose
// price has shortened by 15% or more, they cash out the one that shortened
// most with a chance of 0.3 (assumption, for 15% and 0.3). The
// amount asked is stake × the bet's odds / the price now, in minor units:
// the bet's fair value at the current price, before any margin the book
// takes (the usual formula, e.g. https://blog.mid.bet/promo/hot-to-use-cashout).
// It is the amount the bettor accepts: the reference platform pays exactly
// it when its own offer, after the market's in-play delay, is at least it,
// and refuses the cash-out otherwise (docs/api.md, "Cash-out"). Its offer
// uses the bet's accepted odds, which the bettor does not know and takes to
// be the ones asked: a bet accepted at better odds is offered more than is
// asked, one accepted lower (policy any) less, and refused.
//
// Withdrawals. Near the end (at 95% of the header's duration_us, or when
// the feed ends if the header has none) each bettor with 1000 minor units
// or more left withdraws, with a chance of 0.3, 20% to 80% of it, in whole
// 100s, at a time spread over what remains (assumption, for all three).
//
// Ids. Accounts are {Prefix}a{n}, n from 1 to Config.Bettors; the ids of
// bettor n's events are {Prefix}{d|b|c|w}{n}-{k}, k counting their events.
// All are within the platform's id rules (platform.CheckID) with room for
// headroom clones' suffixes.
package bettors
