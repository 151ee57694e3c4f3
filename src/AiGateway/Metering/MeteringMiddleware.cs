using AiGateway.Accounts;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Proxy;
using AiGateway.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Metering;

/// <summary>
/// The metered call, top to bottom: read → parse → estimate → admit + hold → forward (with failover) → observe +
/// settle (in <see cref="ResponseMeter"/>, as the response passes) → release whatever was not settled → record.
/// Requests that are not metered (model lists, token counting, GETs) continue down YARP's normal pipeline.
/// </summary>
public sealed class MeteringMiddleware(
    RequestDelegate next,
    CallEstimator estimator,
    CreditAdmission admission,
    ResilientForwarder forwarder,
    CallSettler settler,
    CallRecorder recorder,
    VideoJobs videoJobs,
    HoldRenewer renewer,
    IOptions<MeteringOptions> options,
    IOptions<Hosting.GatewayOptions> gatewayOptions,
    TimeProvider time,
    GatewayMetrics metrics,
    ILogger<MeteringMiddleware> logger)
{
    /// <summary>Client header naming the product feature a call belongs to.</summary>
    public const string FeatureHeader = "X-Gateway-Feature";

    /// <summary>Client header grouping the calls of one agent task.</summary>
    public const string TaskHeader = "X-Gateway-Task";

    /// <summary>Client header giving the task's credit ceiling (first call sets it, later calls may only lower it).</summary>
    public const string TaskBudgetHeader = "X-Gateway-Task-Budget";

    public async Task InvokeAsync(HttpContext context)
    {
        var proxy = context.GetReverseProxyFeature();
        if (options.Value.Enabled && HttpMethods.IsGet(context.Request.Method) && context.GetCallerAccount() is { } poller
            && GatewayRoute.FormatOf(proxy.Route.Config) == ProviderFormat.OpenAi && VideoJobs.PollJobId(RestOf(context)) is { } videoId)
        {
            // A video status poll: may settle or release the hold of the job it is about.
            await videoJobs.PollAsync(context, next, poller, videoId);
            return;
        }
        if (!options.Value.Enabled || GatewayRoute.FormatOf(proxy.Route.Config) is not { } format ||
            context.GetCallerAccount() is not { } caller || !HttpMethods.IsPost(context.Request.Method))
        {
            await next(context);
            return;
        }

        // A call the unified endpoint translated is answered in OpenAI's shape; the request itself is native from here on.
        var clientFormat = Unified.ChatTranslation.ClientFormat(context, format);

        // 1. Read the body (bounded).
        var gateway = gatewayOptions.Value;
        var body = await RequestBodyReader.ReadAsync(context, gateway.MaxRequestBodyBytes);
        if (body is null)
        {
            await ProviderErrorWriter.WriteAsync(context, clientFormat, new GatewayError(GatewayErrorKind.PayloadTooLarge,
                $"The request body exceeds {gateway.MaxRequestBodyBytes} bytes.", Code: "request_too_large"));
            return;
        }

        // 2. Parse what pricing needs.
        var path = RestOf(context);
        var parse = ProviderRequestParser.Parse(format, path, context.Request.QueryString.Value, body, context.Request.Method);
        if (parse.Error is { } invalid)
        {
            await ProviderErrorWriter.WriteAsync(context, clientFormat, invalid);
            return;
        }
        using var request = parse.Request!;
        if (!request.IsMetered)
        {
            RequestBodyReader.Replay(context, body);
            await next(context);
            return;
        }

        // 3. Estimate.
        var estimated = estimator.Estimate(request);
        if (estimated.Error is { } unknown)
        {
            await ProviderErrorWriter.WriteAsync(context, clientFormat, unknown);
            return;
        }
        var feature = Tag(context, FeatureHeader);
        var task = Tag(context, TaskHeader);
        if (TaskBudgetError(context, task, out var taskBudget) is { } badBudget)
        {
            await ProviderErrorWriter.WriteAsync(context, clientFormat, badBudget);
            return;
        }
        var call = new MeteredCall(context.TraceIdentifier, caller, request, estimated.Estimate!, proxy.Route.Config.RouteId,
            proxy.Cluster.Config.ClusterId, time.GetUtcNow()) { Feature = feature, Task = task, TaskBudget = taskBudget, ClientFormat = clientFormat };
        using var activity = GatewayActivitySource.StartCall(call);

        // 4 + 5. Admit and hold.
        GatewayError? refused;
        try
        {
            using var admit = GatewayActivitySource.StartStep("admit");
            refused = await admission.AdmitAsync(call, context.RequestAborted);
        }
        catch (Exception ex) when (DatabaseFailure.Is(ex))
        {
            // Fail closed: a call that cannot be held is never forwarded unmetered.
            MeteringLog.LedgerUnavailableAtAdmission(logger, ex, call.RequestId);
            metrics.AdmissionRefused("ledger_unavailable");
            context.Response.Headers.RetryAfter = "2";
            await ProviderErrorWriter.WriteAsync(context, clientFormat, new GatewayError(GatewayErrorKind.Unavailable,
                "The gateway's credit ledger is temporarily unavailable; the call was not forwarded or charged. Retry shortly."));
            GatewayActivitySource.EndCall(activity, call, context.Response.StatusCode);
            return;
        }
        if (refused is not null)
        {
            CreditHeaders.Write(context.Response, call, call.AvailableAfterHold, charged: null);
            await ProviderErrorWriter.WriteAsync(context, clientFormat, refused);
            // Refused calls are part of the account's history too (a 402 explains a user's "why did it fail").
            call.Error = refused.Code ?? refused.Kind.ToString();
            metrics.AdmissionRefused(call.Error);
            await recorder.RecordAsync(call, refused.StatusCode, Tag(context, FeatureHeader), Tag(context, TaskHeader));
            GatewayActivitySource.EndCall(activity, call, refused.StatusCode);
            return;
        }
        metrics.Held(call);

        // Every answer to an admitted call carries the credit headers, also an error written by YARP or the forwarder
        // after clearing the response (errors show the balance after the hold, as streams do).
        context.Response.OnStarting(static state =>
        {
            var (response, admitted) = ((HttpResponse, MeteredCall))state;
            if (!response.Headers.ContainsKey(CreditHeaders.Estimate))
                CreditHeaders.Write(response, admitted, admitted.Settlement?.AvailableAfter ?? admitted.AvailableAfterHold, admitted.Settlement?.Charged);
            return Task.CompletedTask;
        }, (context.Response, call));

        // The hold lives as long as the call: renewed while it runs; should it be lost, the call stops being served
        // (the client connection is dropped, which cancels the upstream request; what was delivered is charged).
        // The reason goes on the call first (its Error), so the record stored with the settlement already shows it.
        // (A call held against a credit lease has no hold row: the lease is renewed by its instance while it lives.)
        var renewal = call.Held && call.LeasedHold is null ? renewer.Track(call.RequestId, call.StartedAt, reason =>
        {
            call.Stop(reason);
            context.Abort();
        }) : null;
        try
        {
            // 6. Forward: the gateway's changes to the body (stream usage, clamp), then YARP with failover.
            if (clientFormat != format && request.Format == ProviderFormat.Anthropic && request.MaxOutputTokens is null
                && call.ForwardedOutputLimit is null && call.Estimate.OutputLimit is > 0 and var held)
            {
                // A translated OpenAI request without a limit: Anthropic requires max_tokens, and the hold covers exactly
                // this many (the model's maximum, or less where the balance only affords less), as for a clamp plan.
                call.ForwardedOutputLimit = (int)Math.Min(held, int.MaxValue);
            }
            var rewrite = ProviderRequestRewriter.Rewrite(request, call.ForwardedOutputLimit);
            call.HideUsageChunk = rewrite.HideUsageChunk;
            context.Features.Set(call);
            using var forward = GatewayActivitySource.StartStep("forward");
            await forwarder.ForwardAsync(context, call, rewrite.Body ?? body);
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Never a bare 500 from the gateway: log it, and answer in the provider's shape if nothing was sent yet.
            MeteringLog.MeteredCallFailed(logger, ex, call.RequestId);
            call.Error ??= "gateway error: " + ex.GetType().Name;
            if (!context.Response.HasStarted)
            {
                // Clear() drops every header; the request id and the credit headers belong on this answer too.
                context.Response.Clear();
                context.Response.Headers[Hosting.RequestIdMiddleware.HeaderName] = call.RequestId;
                var released = await settler.ReleaseAsync(call);
                CreditHeaders.Write(context.Response, call, released.AvailableAfter, released.Charged);
                await ProviderErrorWriter.WriteAsync(context, clientFormat,
                    new GatewayError(GatewayErrorKind.BadGateway, "The gateway could not complete this call; it was not charged."));
            }
        }
        finally
        {
            // 7 + 8. Observe and settle happened as the response passed; whatever did not settle (errors, exceptions) is released.
            await settler.ReleaseAsync(call);
            renewal?.Dispose();
            // 9. Record.
            await recorder.RecordAsync(call, context.Response.StatusCode, feature, task);
            GatewayActivitySource.EndCall(activity, call, context.Response.StatusCode);
        }
    }

    /// <summary>Reads <see cref="TaskBudgetHeader"/>: a positive credit amount, and only on a call that names its task.</summary>
    private static GatewayError? TaskBudgetError(HttpContext context, string? task, out Credits? budget)
    {
        budget = null;
        var value = context.Request.Headers[TaskBudgetHeader].ToString().Trim();
        if (value.Length == 0) return null;
        if (task is null)
            return new GatewayError(GatewayErrorKind.BadRequest, $"{TaskBudgetHeader} needs {TaskHeader} naming the task.", Code: "invalid_task_budget");
        if (!decimal.TryParse(value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var credits)
            || credits <= 0 || credits > 1_000_000_000m)
            return new GatewayError(GatewayErrorKind.BadRequest, $"{TaskBudgetHeader} must be a positive number of credits.", Code: "invalid_task_budget");
        // The ledger counts whole micro-credits: a smaller budget would be stored as 0 and refuse the task for good.
        if (credits < SmallestTaskBudget)
            return new GatewayError(GatewayErrorKind.BadRequest,
                $"{TaskBudgetHeader} must be at least 0.000001 credits (one micro-credit, the ledger's unit).", Code: "invalid_task_budget");
        // Finer digits are rounded down: a budget is a ceiling, never raised by rounding.
        budget = new Credits((long)decimal.Floor(credits * Credits.MicroPerCredit));
        return null;
    }

    private const decimal SmallestTaskBudget = 0.000001m;

    private static string RestOf(HttpContext context) =>
        context.Request.RouteValues.TryGetValue("rest", out var rest) ? rest?.ToString() ?? "" : context.Request.Path.Value ?? "";

    private static string? Tag(HttpContext context, string header)
    {
        var value = context.Request.Headers[header].ToString().Trim();
        return value.Length == 0 ? null : value.Length > 200 ? value[..200] : value;
    }
}
