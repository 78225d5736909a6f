//! Execution core speed (no journal): submit through kill switch + pre-trade risk check +
//! paper acceptance, then fills on a bar. `cargo bench -p tradpal-actors --bench execution`.
//! The durable path (HTTP + journal) is `cargo test --release --test execution_api -- --ignored`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tradpal_actors::execution::{ExecutionConfig, ExecutionCore, OrderRequest};
use tradpal_messages::{Candle, CashAdjusted, Event, Fixed, IdGenerator, OrderType, Side, Timeframe, Timestamp};

const H: i64 = 3_600_000_000_000;

fn core() -> ExecutionCore {
    let mut c = ExecutionConfig::default();
    c.limits.max_position_size = 1.0;
    c.fill.participation = 1.0;
    let mut core = ExecutionCore::new(c);
    let fund = Event::CashAdjusted(CashAdjusted { asset: "USDT".into(), amount: Fixed::from_int(1_000_000_000), reason: "bench".into() });
    core.apply(&fund, Timestamp(0)).unwrap();
    let bar = Candle { open_time: Timestamp(0), open: 100.0, high: 101.0, low: 99.0, close: 100.0, volume: 1e12 };
    core.on_bars("BTC/USDT", Timeframe::H1, &[bar], 1).unwrap();
    core
}

fn request(i: usize, t: OrderType) -> OrderRequest {
    OrderRequest {
        client_order_id: Some(format!("o{i}")),
        order_type: t,
        price: (t == OrderType::Limit).then(|| Fixed::from_int(99)),
        ..OrderRequest::market("BTC/USDT", Side::Buy, Fixed::parse("0.1").unwrap())
    }
}

fn bench(c: &mut Criterion) {
    let n = 1_000;
    let mut g = c.benchmark_group("execution_core");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("submit_and_fill_1000_market_orders", |b| {
        let reqs: Vec<OrderRequest> = (0..n).map(|i| request(i, OrderType::Market)).collect();
        b.iter_batched(
            core,
            |mut core| {
                let mut ids = IdGenerator::from_seed(1);
                for r in &reqs {
                    core.submit(r, Timestamp(H / 2), &mut ids).unwrap();
                }
                let bar = Candle { open_time: Timestamp(H), open: 100.0, high: 101.0, low: 99.0, close: 100.0, volume: 1e12 };
                let events = core.on_bars("BTC/USDT", Timeframe::H1, &[bar], 2).unwrap();
                assert!(events.len() >= n);
                core
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
