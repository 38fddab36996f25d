//! Logging: readable lines in development, JSON in production, both on stderr so stdout
//! carries only command results. Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans
//! are also exported over OTLP (HTTP, protobuf), and the W3C trace context is propagated
//! (the API puts it in each job, the worker continues it).

use std::io::IsTerminal;

use herald_config::{LogConfig, LogFormat};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Flushes and stops the trace exporter when dropped (at the end of `main`).
#[derive(Debug)]
pub(crate) struct Guard(Option<SdkTracerProvider>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            let _ = provider.shutdown();
        }
    }
}

/// `service` names the process in traces (`OTEL_SERVICE_NAME` wins).
pub(crate) fn init(config: &LogConfig, service: &'static str) -> Guard {
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match config.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Pretty => fmt.boxed(),
    };
    let (provider, failure) = match otlp(service) {
        Ok(provider) => (provider, None),
        Err(error) => (None, Some(error)),
    };
    // Traces keep Herald's own spans whatever the log filter says (the request, the delivery,
    // its platform calls).
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("herald"))
            .with_filter(Targets::new().with_target("herald", Level::INFO))
    });
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init();
    if let Some(error) = failure {
        tracing::warn!(%error, "OTLP trace export is off: the exporter could not be built");
    }
    Guard(provider)
}

/// The OTLP pipeline, when an endpoint is configured (the exporter reads the standard
/// `OTEL_EXPORTER_OTLP_*` variables itself).
fn otlp(service: &'static str) -> Result<Option<SdkTracerProvider>, String> {
    let configured = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !configured("OTEL_EXPORTER_OTLP_ENDPOINT")
        && !configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| e.to_string())?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if !configured("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name(service);
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(Some(provider))
}
