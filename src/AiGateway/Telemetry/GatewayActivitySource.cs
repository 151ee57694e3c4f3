using System.Diagnostics;
using AiGateway.Metering;

namespace AiGateway.Telemetry;

/// <summary>
/// The gateway's traces: one <c>aigateway.call</c> activity per metered call, with children <c>aigateway.admit</c>,
/// <c>aigateway.forward</c> (under which the outgoing HTTP request's own activity appears) and <c>aigateway.settle</c>.
/// Tags name the provider, the priced model, the status and the request id; never a key, an account or prompt text.
/// Without a listener (tracing off) no activity is created.
/// </summary>
public static class GatewayActivitySource
{
    /// <summary>The activity source's name (what an OpenTelemetry <c>AddSource</c> or an <see cref="ActivityListener"/> selects).</summary>
    public const string Name = "AiGateway";

    private static readonly ActivitySource Source = new(Name);

    /// <summary>Starts the call's root activity (null when nobody listens).</summary>
    public static Activity? StartCall(MeteredCall call)
    {
        var activity = Source.StartActivity("aigateway.call");
        if (activity is null) return null;
        activity.SetTag("aigateway.request_id", call.RequestId);
        activity.SetTag("aigateway.provider", call.Provider);
        activity.SetTag("aigateway.model", call.Estimate.Price.Name);
        activity.SetTag("aigateway.route", call.Route);
        return activity;
    }

    /// <summary>Starts a child step of the current call (<c>admit</c>, <c>forward</c>, <c>settle</c>).</summary>
    public static Activity? StartStep(string step) =>
        // Checked first: the name is built per call, and without a listener (tracing off) nothing else would be.
        Source.HasListeners() ? Source.StartActivity("aigateway." + step) : null;

    /// <summary>Tags the root activity with how the call ended.</summary>
    public static void EndCall(Activity? activity, MeteredCall call, int statusCode)
    {
        if (activity is null) return;
        activity.SetTag("http.response.status_code", statusCode);
        activity.SetTag("aigateway.usage_source", call.Settlement?.UsageSource ?? CallSettler.Sources.None);
        activity.SetTag("aigateway.charged_micro", call.Settlement?.Charged.Micro ?? 0);
        activity.SetTag("aigateway.attempts", call.AttemptCount);
        if (statusCode is < 200 or > 299) activity.SetStatus(ActivityStatusCode.Error, call.Error is null ? null : ErrorKind(call.Error));
    }

    // Error texts are the gateway's own (no prompt text); the span status keeps their kind, up to the first ':'.
    private static string ErrorKind(string error)
    {
        var cut = error.IndexOf(':');
        var kind = cut > 0 ? error[..cut] : error;
        return kind.Length <= 80 ? kind : kind[..80];
    }
}
