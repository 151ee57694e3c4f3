using AiGateway.Accounts;
using Serilog;
using Serilog.Events;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Proxy;

/// <summary>
/// One structured log line per proxied call (Serilog's request logging): route, status, duration, key prefix, request id,
/// model, charge, usage source, attempts — never keys or prompts.
/// </summary>
public static class ProxyLogging
{
    /// <summary>The line's template; the properties come from the diagnostic context filled in by <see cref="Enrich"/>.</summary>
    public const string MessageTemplate =
        "Proxied {RequestMethod} {Route} {RequestPath} -> {StatusCode} in {Elapsed:0.0} ms key={KeyPrefix} request={RequestId} model={Model} charged={Charged} usage={UsageSource} attempts={Attempts} error={ForwarderError}";

    /// <summary>Adds the per-call log line to the proxy pipeline; it wraps every later step, so it sees the settled call.</summary>
    public static IApplicationBuilder UseProxyCallLog(this IApplicationBuilder pipeline)
    {
        var logger = pipeline.ApplicationServices.GetRequiredService<Serilog.ILogger>();
        return pipeline.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = MessageTemplate;
            // This host's logger, not the static one (several hosts share a test process).
            options.Logger = logger;
            // An upstream 5xx is the provider's answer, not a gateway fault: only an exception escaping the pipeline is an error.
            options.GetLevel = (_, _, exception) => exception is null ? LogEventLevel.Information : LogEventLevel.Error;
            options.EnrichDiagnosticContext = Enrich;
        });
    }

    /// <summary>Sets the call's fields; values the call never reached are logged as <c>-</c>.</summary>
    public static void Enrich(IDiagnosticContext diagnostics, HttpContext context)
    {
        var call = context.Features.Get<Metering.MeteredCall>();
        diagnostics.Set("Route", context.GetReverseProxyFeature().Route.Config.RouteId);
        diagnostics.Set("KeyPrefix", context.GetCallerAccount()?.KeyPrefix ?? "-");
        diagnostics.Set("RequestId", context.TraceIdentifier);
        diagnostics.Set("Model", call?.Request.Model ?? "-");
        diagnostics.Set("Charged", call?.Settlement?.Charged.ToString() ?? "-");
        diagnostics.Set("UsageSource", call?.Settlement?.UsageSource ?? "-");
        diagnostics.Set("Attempts", call?.Attempts ?? "-");
        diagnostics.Set("ForwarderError", context.Features.Get<IForwarderErrorFeature>()?.Error.ToString() ?? "none");
    }
}
