//! Proptest strategies for every message type, shared with other crates' tests.

use crate::envelope::*;
use crate::event::*;
use crate::ids::*;
use crate::money::Fixed;
use crate::order::*;
use crate::reply::*;
use crate::time::Timestamp;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn text() -> impl Strategy<Value = String> {
    // Unicode included: names and reasons come from users.
    "\\PC{0,24}"
}

pub fn finite_positive() -> impl Strategy<Value = f64> {
    (1e-9f64..1e12).prop_map(|v| v)
}

pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800_000_000_000).prop_map(Timestamp)
}

pub fn session_id() -> impl Strategy<Value = SessionId> {
    any::<u128>().prop_map(SessionId)
}

pub fn mode() -> impl Strategy<Value = TradingMode> {
    prop_oneof![Just(TradingMode::Paper), Just(TradingMode::Live)]
}

pub fn session_config() -> impl Strategy<Value = SessionConfig> {
    (text(), finite_positive(), text(), 1e-6f64..1.0, mode()).prop_map(|(symbol, capital, strategy, risk_per_trade, mode)| SessionConfig {
        symbol,
        capital,
        strategy,
        risk_per_trade,
        mode,
    })
}

pub fn timeframe() -> impl Strategy<Value = crate::market::Timeframe> {
    proptest::sample::select(crate::market::Timeframe::ALL.to_vec())
}

/// A valid candle series: aligned, increasing, consistent OHLC.
pub fn candles_ingested() -> impl Strategy<Value = CandlesIngested> {
    let source = prop_oneof![Just(DataSource::Csv), Just(DataSource::Http), Just(DataSource::Nats), Just(DataSource::SmartTrade)];
    (timeframe(), source, 0i64..50_000, vec((1u8..5, 1e-6f64..1e6, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..1e9), 1..20)).prop_map(
        |(tf, source, start_bar, rows)| {
            let mut bar = start_bar;
            let candles = rows
                .into_iter()
                .map(|(step, low, a, b, volume)| {
                    bar += i64::from(step);
                    let high = low * (1.0 + a);
                    let open = low + (high - low) * b;
                    let close = low + (high - low) * (1.0 - b);
                    crate::market::Candle { open_time: Timestamp(bar * tf.nanos()), open, high, low, close, volume }
                })
                .collect();
            CandlesIngested { symbol: "BTC/USDT".into(), timeframe: tf, source, candles }
        },
    )
}

pub fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (text(), any::<u64>(), timestamp()).prop_map(|(version, id_seed, started_at)| Event::ServiceStarted(ServiceStarted {
            version,
            id_seed,
            started_at
        })),
        (session_id(), session_config()).prop_map(|(session_id, config)| Event::SessionStarted(SessionStarted { session_id, config })),
        (session_id(), text()).prop_map(|(session_id, reason)| Event::SessionStopped(SessionStopped { session_id, reason })),
        (text(), any::<u32>(), text(), any::<bool>()).prop_map(|(actor, restart_count, reason, restarted)| {
            Event::ActorRestarted(ActorRestarted { actor, restart_count, reason, restarted })
        }),
        candles_ingested().prop_map(Event::CandlesIngested),
        (option::of(session_id()), text(), -1e9f64..1e9, -1e9f64..1e9).prop_map(|(session_id, limit, value, threshold)| {
            Event::RiskLimitBreached(RiskLimitBreached { session_id, limit, value, threshold, excess: value - threshold })
        }),
        (option::of(timeframe()), timestamp(), text(), text(), 0.0f64..=1.0).prop_map(|(timeframe, bar, from, to, confidence)| {
            Event::RegimeChanged(RegimeChanged { symbol: "ETH/USDT".into(), timeframe, bar, from, to, confidence })
        }),
        execution_event(),
        (1u32..1000).prop_map(|max_open_positions| Event::ExecutionLimitsConfigured(crate::event::ExecutionLimitsConfigured {
            max_open_positions
        })),
        (1u64..1000, 0u64..1000).prop_map(|(first_missing, more)| Event::JournalLossAccepted(crate::event::JournalLossAccepted {
            first_missing,
            acknowledged_through: first_missing + more
        })),
        backtest_event(),
        session_event(),
        ml_event(),
        rl_event(),
        (0.0f64..0.1, 0.0f64..1.0, 0.0f64..1.0, 1i64..i64::MAX, option::of("[a-z]{1,12}")).prop_map(
            |(transaction_costs, max_position_size, max_drawdown, order_timeout_ns, live_venue)| {
                Event::ExecutionConfigured(crate::event::ExecutionConfigured {
                    transaction_costs,
                    max_position_size,
                    max_drawdown,
                    order_timeout_ns,
                    live_venue,
                })
            }
        ),
    ]
}

/// The events of RL training jobs (started, trained, failed).
pub fn rl_event() -> impl Strategy<Value = Event> {
    use crate::rl_event::{RlAgentTrained, RlTrainingFailed, RlTrainingStarted};
    prop_oneof![
        (text(), any::<u32>(), timeframe(), text(), any::<u64>(), any::<u64>(), text(), text()).prop_map(
            |(agent_id, version, timeframe, algorithm, episodes, bars, base_agent_id, request)| {
                let symbol = "BTC/USDT".into();
                Event::RlTrainingStarted(RlTrainingStarted {
                    agent_id,
                    version,
                    symbol,
                    timeframe,
                    algorithm,
                    episodes,
                    bars,
                    base_agent_id,
                    request,
                })
            }
        ),
        (text(), text(), -1e3f64..1e3, 0.0f64..=1.0).prop_map(|(agent_id, agent_file, excess_return, p_value)| {
            Event::RlAgentTrained(RlAgentTrained { agent_id, agent_file, excess_return, p_value })
        }),
        (text(), text()).prop_map(|(agent_id, reason)| Event::RlTrainingFailed(RlTrainingFailed { agent_id, reason })),
    ]
}

/// The events of trading sessions (opened, stop requested, input decided).
pub fn session_event() -> impl Strategy<Value = Event> {
    use crate::session_event::{SessionInputDecided, SessionOpened, SessionStopRequested, StrategyParam};
    let params = proptest::collection::vec(("[a-z]{1,8}", -1e6f64..1e6).prop_map(|(name, value)| StrategyParam { name, value }), 0..4);
    prop_oneof![
        (session_id(), session_config(), timeframe(), params, 0.0f64..0.5, 0u32..1000, any::<u64>()).prop_map(
            |(session_id, mut config, timeframe, params, commission, slippage_bps, seed)| {
                config.symbol = "BTC/USDT".into();
                Event::SessionOpened(SessionOpened {
                    session_id,
                    config,
                    timeframe,
                    params,
                    commission,
                    slippage_bps,
                    seed,
                    max_drawdown: (seed % 2 == 0).then_some(0.1),
                    max_daily_loss: None,
                    ai: None,
                })
            }
        ),
        (session_id(), any::<bool>(), text()).prop_map(|(session_id, close_positions, reason)| {
            Event::SessionStopRequested(SessionStopRequested { session_id, close_positions, reason })
        }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(input_sequence, sessions)| Event::SessionInputDecided(SessionInputDecided { input_sequence, sessions })),
        (timestamp(), -1.0f64..1.0, text()).prop_map(|(bar, score, decision_json)| Event::AiDecision(crate::session_event::AiDecision {
            symbol: "BTC/USDT".into(),
            bar,
            action: "buy".into(),
            quantity: 0.5,
            score,
            confidence: score.abs(),
            decision_json,
        })),
    ]
}

/// The backtest events (started, completed, failed, job started, result removed).
pub fn backtest_event() -> impl Strategy<Value = Event> {
    let id = || any::<u128>().prop_map(crate::ids::BacktestId);
    prop_oneof![
        (id(), text(), any::<u64>()).prop_map(|(backtest_id, strategy, bars)| {
            Event::BacktestStarted(crate::event::BacktestStarted { backtest_id, symbol: "BTC/USDT".into(), strategy, bars })
        }),
        (id(), text(), any::<u64>(), -1.0f64..1e6, "[0-9a-f]{64}", text()).prop_map(
            |(backtest_id, strategy, bars, total_return, event_stream_hash, result_file)| {
                Event::BacktestCompleted(crate::event::BacktestCompleted {
                    backtest_id,
                    symbol: "BTC/USDT".into(),
                    strategy,
                    bars,
                    total_return,
                    event_stream_hash,
                    result_file,
                })
            }
        ),
        (id(), text()).prop_map(|(backtest_id, reason)| Event::BacktestFailed(crate::event::BacktestFailed { backtest_id, reason })),
        (id(), text(), text(), any::<u64>()).prop_map(|(backtest_id, kind, strategy, bars)| {
            Event::BacktestJobStarted(crate::event::BacktestJobStarted { backtest_id, kind, symbol: "BTC/USDT".into(), strategy, bars })
        }),
        (id(), text())
            .prop_map(|(backtest_id, reason)| Event::BacktestResultRemoved(crate::event::BacktestResultRemoved { backtest_id, reason })),
    ]
}

/// The ML events (training started, model trained, training failed, model deleted).
pub fn ml_event() -> impl Strategy<Value = Event> {
    let id = || any::<u128>().prop_map(crate::ids::ModelId);
    prop_oneof![
        (id(), text(), any::<u32>(), text(), timeframe(), any::<u64>(), text()).prop_map(
            |(model_id, name, version, model_type, timeframe, bars, request_json)| {
                Event::MlTrainingStarted(crate::event::MlTrainingStarted {
                    model_id,
                    name,
                    version,
                    model_type,
                    symbol: "BTC/USDT".into(),
                    timeframe,
                    bars,
                    request_json,
                })
            }
        ),
        (id(), text(), "[0-9a-f]{64}", -1.0f64..1.0).prop_map(|(model_id, model_file, file_hash, out_of_sample_score)| {
            Event::MlModelTrained(crate::event::MlModelTrained { model_id, model_file, file_hash, out_of_sample_score })
        }),
        (id(), text()).prop_map(|(model_id, reason)| Event::MlTrainingFailed(crate::event::MlTrainingFailed { model_id, reason })),
        (id(), text()).prop_map(|(model_id, reason)| Event::MlModelDeleted(crate::event::MlModelDeleted { model_id, reason })),
    ]
}

pub fn positive_fixed() -> impl Strategy<Value = Fixed> {
    (1i128..1_000_000_000_000_000).prop_map(Fixed::from_raw)
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

pub fn order_spec() -> impl Strategy<Value = OrderSpec> {
    (
        "[A-Za-z0-9_-]{1,36}",
        pick(Side::ALL),
        pick(OrderType::ALL),
        positive_fixed(),
        option::of(positive_fixed()),
        option::of(positive_fixed()),
        option::of(1u32..2000),
        pick(TimeInForce::ALL),
        option::of(timestamp()),
        any::<bool>(),
        option::of(session_id()),
    )
        .prop_map(
            |(
                client_order_id,
                side,
                order_type,
                quantity,
                price,
                stop_price,
                trailing_bps,
                time_in_force,
                expire_at,
                reduce_only,
                session_id,
            )| {
                OrderSpec {
                    client_order_id: client_order_id.into(),
                    symbol: "BTC/USDT".into(),
                    side,
                    order_type,
                    quantity,
                    price,
                    stop_price,
                    trailing_bps,
                    time_in_force,
                    expire_at,
                    reduce_only,
                    session_id,
                }
            },
        )
}

fn order_id() -> impl Strategy<Value = OrderId> {
    any::<u128>().prop_map(OrderId)
}

fn order_link() -> impl Strategy<Value = OrderLink> {
    (pick(Contingency::ALL), order_id(), option::of(order_id()), option::of(order_id()))
        .prop_map(|(contingency, list_id, parent, sibling)| OrderLink { contingency, list_id, parent, sibling })
}

/// The execution events (orders, fills, kill switch).
pub fn execution_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (order_id(), order_spec(), pick(&[OrderStatus::Submitted, OrderStatus::Held]), option::of(order_link()), timestamp(), text())
            .prop_map(|(order_id, spec, status, link, submitted_at, risk_note)| {
                let requested_quantity = spec.quantity;
                Event::OrderSubmitted(OrderSubmitted { order_id, spec, requested_quantity, risk_note, status, link, submitted_at })
            }),
        (order_id(), text())
            .prop_map(|(order_id, venue_order_id)| Event::OrderAccepted(OrderAccepted { order_id, venue_order_id: venue_order_id.into() })),
        (order_id(), pick(RejectSource::ALL), text()).prop_map(|(order_id, source, reason)| Event::OrderRejected(OrderRejected {
            order_id,
            source,
            reason
        })),
        (
            order_id(),
            1u32..,
            pick(Side::ALL),
            positive_fixed(),
            positive_fixed(),
            positive_fixed(),
            pick(Liquidity::ALL),
            timestamp(),
            any::<u64>()
        )
            .prop_map(|(order_id, fill_seq, side, quantity, price, fee, liquidity, market_time, cause_sequence)| {
                Event::OrderFilled(OrderFilled {
                    order_id,
                    fill_seq,
                    symbol: "BTC/USDT".into(),
                    side,
                    quantity,
                    price,
                    fee,
                    liquidity,
                    market_time,
                    matched_through: market_time,
                    cause_sequence,
                })
            }),
        (order_id(), positive_fixed(), timestamp(), any::<u64>()).prop_map(|(order_id, trigger_price, market_time, cause_sequence)| {
            Event::OrderTriggered(OrderTriggered { order_id, trigger_price, market_time, matched_through: market_time, cause_sequence })
        }),
        (order_id(), text()).prop_map(|(order_id, reason)| Event::OrderCancelRequested(OrderCancelRequested { order_id, reason })),
        (order_id(), text(), any::<u64>()).prop_map(|(order_id, reason, cause_sequence)| Event::OrderCanceled(OrderCanceled {
            order_id,
            reason,
            cause_sequence
        })),
        (order_id(), text(), any::<u64>()).prop_map(|(order_id, reason, cause_sequence)| Event::OrderExpired(OrderExpired {
            order_id,
            reason,
            cause_sequence
        })),
        (order_id(), positive_fixed(), timestamp()).prop_map(|(order_id, quantity, released_at)| Event::OrderReleased(OrderReleased {
            order_id,
            quantity,
            released_at
        })),
        (pick(TradingState::ALL), pick(TradingState::ALL), text())
            .prop_map(|(from, to, reason)| Event::TradingStateChanged(TradingStateChanged { from, to, reason })),
        (-crate::money::FIXED_ABS_MAX..=crate::money::FIXED_ABS_MAX, text()).prop_map(|(raw, reason)| Event::CashAdjusted(CashAdjusted {
            asset: "USDT".into(),
            amount: Fixed::from_raw(raw),
            reason
        })),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,64}"
}

pub fn draft() -> impl Strategy<Value = EnvelopeDraft> {
    (any::<u128>(), timestamp(), any::<u128>(), option::of(any::<u128>()), option::of(key()), option::of(key()), event()).prop_map(
        |(event_id, timestamp, correlation, causation, request_id, idempotency_key, event)| EnvelopeDraft {
            event_id: EventId(event_id),
            timestamp,
            session_id: event.session_id(),
            correlation_id: CorrelationId(correlation),
            causation_id: causation.map(CausationId),
            request_id,
            idempotency_key,
            event,
        },
    )
}

pub fn envelope() -> impl Strategy<Value = Envelope> {
    (1u64..u64::MAX, draft()).prop_map(|(seq, d)| d.seal(seq))
}

pub fn session_info() -> impl Strategy<Value = SessionInfo> {
    (session_id(), any::<bool>(), session_config(), timestamp(), option::of(timestamp()), any::<u64>()).prop_map(
        |(session_id, active, config, started_at, stopped_at, started_sequence)| SessionInfo {
            session_id,
            status: if active { SessionStatus::Active } else { SessionStatus::Stopped },
            config,
            started_at,
            stopped_at,
            started_sequence,
        },
    )
}

#[cfg(test)]
mod round_trips {
    use super::*;
    use crate::codec::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn envelope_binary_and_json(env in envelope()) {
            prop_assert_eq!(&decode_envelope(&encode_envelope(&env)).unwrap(), &env);
            prop_assert_eq!(&from_json::<Envelope>(&to_json(&env)).unwrap(), &env);
        }

        #[test]
        fn event_json(ev in event()) {
            prop_assert_eq!(from_json::<Event>(&to_json(&ev)).unwrap(), ev);
        }

        #[test]
        fn drafts_from_the_strategy_satisfy_invariants(d in draft()) {
            prop_assert!(d.check_invariants().is_ok());
            prop_assert!(d.seal(1).check_invariants().is_ok());
        }

        /// Arbitrary bytes never panic the decoder: they decode or give an error.
        #[test]
        fn garbage_never_panics(bytes in vec(any::<u8>(), 0..512)) {
            let _ = decode_envelope(&bytes);
            let mut with_version = vec![FORMAT_VERSION];
            with_version.extend_from_slice(&bytes);
            let _ = decode_envelope(&with_version);
        }

        /// Flipping any single bit of an encoded envelope never panics the decoder.
        #[test]
        fn bit_flips_never_panic(env in envelope(), bit in any::<usize>()) {
            let mut bytes = encode_envelope(&env);
            let i = bit % (bytes.len() * 8);
            bytes[i / 8] ^= 1 << (i % 8);
            let _ = decode_envelope(&bytes);
        }
    }

    #[test]
    fn wrong_version_is_named() {
        let env = Envelope {
            sequence: 1,
            event_id: EventId(1),
            timestamp: Timestamp(0),
            session_id: None,
            correlation_id: CorrelationId(2),
            causation_id: None,
            request_id: None,
            idempotency_key: None,
            kind: EventKind::ActorRestarted,
            event: Event::ActorRestarted(ActorRestarted { actor: "a".into(), restart_count: 1, reason: "r".into(), restarted: true }),
        };
        let mut bytes = encode_envelope(&env);
        bytes[0] = 9;
        let err = decode_envelope(&bytes).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");
    }

    #[test]
    fn spec_start_session_json_parses_and_unknown_fields_are_refused() {
        let cmd: crate::StartSession =
            serde_json::from_str(r#"{"symbol":"BTC/USDT","capital":10000,"strategy":"ai_ensemble","risk_per_trade":0.02}"#).unwrap();
        assert_eq!(cmd.capital, 10000.0);
        assert_eq!(cmd.mode, TradingMode::Paper);
        let err = serde_json::from_str::<crate::StartSession>(r#"{"symbol":"BTC/USDT","capital":1,"captial":2}"#).unwrap_err();
        assert!(err.to_string().contains("captial"), "{err}");
    }
}
