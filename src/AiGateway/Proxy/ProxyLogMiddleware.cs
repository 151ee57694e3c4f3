using System.Diagnostics;
using AiGateway.Accounts;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Proxy;

/// <summary>Writes one structured log line per proxied call: route, status, duration, key prefix, request id, model, charge — never keys or prompts.</summary>
public sealed class ProxyLogMiddleware(RequestDelegate next, ILogger<ProxyLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var error = context.Features.Get<IForwarderErrorFeature>()?.Error;
            var call = context.Features.Get<Metering.MeteredCall>();
            logger.LogInformation(
                "Proxied {Method} {Route} {Path} -> {Status} in {DurationMs:0.0} ms key={KeyPrefix} request={RequestId} model={Model} charged={Charged} usage={UsageSource} attempts={Attempts} error={ForwarderError}",
                context.Request.Method,
                context.GetReverseProxyFeature().Route.Config.RouteId,
                context.Request.Path.Value,
                context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                context.GetCallerAccount()?.KeyPrefix ?? "-",
                context.TraceIdentifier,
                call?.Request.Model ?? "-",
                call?.Settlement?.Charged.ToString() ?? "-",
                call?.Settlement?.UsageSource ?? "-",
                call?.Attempts ?? "-",
                error?.ToString() ?? "none");
        }
    }
}
