using System.Buffers;
using System.Net;
using System.Text.Json;
using AiGateway.Pricing;
using AiGateway.Providers;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;

namespace AiGateway.Metering;

/// <summary>
/// Steps "observe" and "settle" for a metered call, run as YARP's response transform: withholds retriable answers
/// so the forwarder can fail over, releases the hold on non-2xx, and for 2xx reads the real usage — from the JSON
/// body (buffered, so <c>X-Credits-Charged</c> can precede it) or from the SSE stream as it passes through unbuffered.
/// </summary>
public sealed class ResponseMeter(CallSettler settler, VideoJobs videoJobs, IOptions<MeteringOptions> options, Telemetry.GatewayMetrics metrics,
    ILogger<ResponseMeter> logger)
{
    /// <summary>Handles the upstream response of one attempt.</summary>
    public async ValueTask ApplyAsync(ResponseTransformContext transform)
    {
        var context = transform.HttpContext;
        if (context.Features.Get<MeteredCall>() is not { } call || transform.ProxyResponse is not { } upstream) return;
        var status = (int)upstream.StatusCode;
        call.UpstreamStatus = status;
        call.FirstByteMs = call.ElapsedMs;
        metrics.UpstreamAnswered(call, status);

        if (call.CanRetry && IsRetriable(status) && RetryAfterOf(upstream) is var retryAfter && (retryAfter is null || retryAfter <= options.Value.MaxRetryDelay))
        {
            call.RetryRequested = true;
            call.RetryAfter = retryAfter;
            transform.SuppressResponseBody = true;
            return;
        }
        if (status is < 200 or > 299)
        {
            // Failed calls cost nothing: release before the headers go out so X-Credits-Remaining is already right.
            var released = await settler.ReleaseAsync(call);
            CreditHeaders.Write(context.Response, call, released.AvailableAfter, released.Charged);
            if (Proxy.UpstreamCredentialRefusal.Is(status))
            {
                transform.SuppressResponseBody = true;
                call.Error = $"upstream refused the gateway's credentials ({status})";
                await Proxy.UpstreamCredentialRefusal.WriteAsync(context, call.ClientFormat, status, call.Provider, logger);
            }
            else if (context.Features.Get<Unified.ChatTranslation>() is { } failed)
            {
                transform.SuppressResponseBody = true;
                await TranslatedErrorAsync(context, failed, upstream, status);
            }
            return;
        }

        transform.SuppressResponseBody = true;
        var isStream = upstream.Content.Headers.ContentType?.MediaType is "text/event-stream"
                       || (call.Request.Stream && upstream.Content.Headers.ContentType?.MediaType is not "application/json");
        if (isStream) await StreamAsync(context, call, upstream);
        else await BufferedAsync(context, call, upstream);
    }

    private async Task BufferedAsync(HttpContext context, MeteredCall call, HttpResponseMessage upstream)
    {
        byte[] body;
        try
        {
            body = await ReadBoundedAsync(upstream, options.Value.MaxBufferedResponseBytes, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
        {
            // The upstream broke (or the client left) before the body was complete: nothing usable was delivered.
            call.Error = context.RequestAborted.IsCancellationRequested ? "client disconnected" : "upstream body failed: " + ex.GetType().Name;
            await settler.ReleaseAsync(call);
            if (!context.RequestAborted.IsCancellationRequested)
            {
                context.Response.Headers.ContentLength = null;
                await ProviderErrorWriter.WriteAsync(context, call.ClientFormat,
                    new GatewayError(GatewayErrorKind.BadGateway, "The upstream provider's response was cut off."));
            }
            return;
        }

        if (context.Features.Get<Unified.ChatTranslation>() is { } translation)
        {
            // Translated before settling: an answer the client cannot be given is not charged.
            if (translation.TranslateResponse(body) is not { } translated)
            {
                call.Error = "upstream answer not translatable";
                await settler.ReleaseAsync(call);
                context.Response.Headers.ContentLength = null;
                await ProviderErrorWriter.WriteAsync(context, call.ClientFormat,
                    new GatewayError(GatewayErrorKind.BadGateway, "The upstream provider's answer could not be read; the call was not charged."));
                return;
            }
            // Usage is read from the provider's own answer, exactly as on its native route.
            await SettleBufferedAsync(context, call, body, translated);
            return;
        }
        await SettleBufferedAsync(context, call, body, body);
    }

    private async Task SettleBufferedAsync(HttpContext context, MeteredCall call, byte[] body, byte[] toClient)
    {
        var usage = UsageReader.FromJson(call.Request, body);
        var source = CallSettler.Sources.Provider;
        if (usage is null)
        {
            source = CallSettler.Sources.Estimated;
            usage = new CallUsage
            {
                InputTokens = call.Estimate.InputTokens,
                OutputTokens = CallEstimator.CountText(call.Estimate.Price, ResponseText.Collect(body)),
                Images = call.Estimate.Units.Images,
                VideoSeconds = call.Estimate.Units.VideoSeconds,
                AudioUses = call.Estimate.Units.AudioUses,
            };
        }
        CallSettlement? settlement = null;
        if (call.Held && call.Request.Operation == Providers.Operation.OpenAiVideos && VideoJobs.PendingJobId(body) is { } videoId)
        {
            try
            {
                // A queued video job: keep the hold until a status poll shows it completed (settle) or failed (release).
                var jobUsage = UsageBound.Apply(call, usage, options.Value, out var cut);
                call.UsageClamped |= cut;
                await videoJobs.StartAsync(call, videoId, CostCalculator.Cost(call.Estimate.Price, jobUsage));
                settlement = CallSettler.Pend(call, usage);
            }
            catch (Exception ex) when (DatabaseFailure.Is(ex))
            {
                // The job could not be remembered: charge it now, as for a finished job, rather than give it away.
                MeteringLog.VideoJobNotRecorded(logger, ex, call.RequestId, videoId);
            }
        }
        settlement ??= await settler.SettleAsync(call, usage, source);
        CreditHeaders.Write(context.Response, call, settlement.AvailableAfter, settlement.Charged);
        context.Response.Headers.ContentLength = toClient.Length;
        try
        {
            await context.Response.Body.WriteAsync(toClient, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // Settled already: the provider did the work and the response was ready; the client left while it was sent.
            call.Error = "client disconnected while the response was sent";
        }
    }

    private async Task StreamAsync(HttpContext context, MeteredCall call, HttpResponseMessage upstream)
    {
        var o = options.Value;
        var response = context.Response;
        CreditHeaders.Write(response, call, call.AvailableAfterHold, charged: null);
        response.Headers.ContentLength = null;
        var observer = new StreamObserver(call.Request, call.HideUsageChunk);
        // Pooled (returned in the finally below): a fresh 16 KiB array per stream was its largest allocation.
        using var toClient = new PooledBufferWriter(16 * 1024);
        // A translated call: the observer reads the provider's native events (usage as on the native route), then the
        // translator turns them into OpenAI chunks, event by event.
        var translator = context.Features.Get<Unified.ChatTranslation>()?.NewStream();
        using var native = translator is null ? null : new PooledBufferWriter(16 * 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var window = new StreamReadWindow(DateTime.UtcNow, o.MaxStreamDuration, o.StreamIdleTimeout, o.DrainAfterDisconnect, o.DrainMaxBytes);
        var clientGone = false;
        var upstreamFailed = false;
        var ended = false;
        // With a drain, the client leaving must not cancel the pending upstream read: cancelling a read of the response
        // body tears the upstream connection down, and with it the usage report at the end of the stream.
        // A call stopped because its hold is lost is not drained: the upstream read ends at once.
        using var read = window.Drains ? CancellationTokenSource.CreateLinkedTokenSource(call.Stopped)
            : CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, call.Stopped);
        using var left = window.Drains
            ? context.RequestAborted.Register(static state =>
            {
                var (w, cts) = ((StreamReadWindow, CancellationTokenSource))state!;
                w.ClientLeft(DateTime.UtcNow);
                try { cts.CancelAfter(w.NextReadTimeout(DateTime.UtcNow)); } catch (ObjectDisposedException) { }
            }, (window, read))
            : default;
        metrics.StreamOpen(call, open: true);
        try
        {
            await response.StartAsync(context.RequestAborted);
            await using var source = await upstream.Content.ReadAsStreamAsync(context.RequestAborted);
            while (true)
            {
                int count;
                try
                {
                    read.CancelAfter(window.NextReadTimeout(DateTime.UtcNow));
                    // The client may have left between the two lines above; then its shorter drain window must win.
                    if (window.ClientGone) read.CancelAfter(window.NextReadTimeout(DateTime.UtcNow));
                    count = await source.ReadAsync(buffer, read.Token);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
                {
                    clientGone |= window.ClientGone || context.RequestAborted.IsCancellationRequested;
                    upstreamFailed = !clientGone;
                    var now = DateTime.UtcNow;
                    call.Error = clientGone
                        ? !window.Drains ? "client disconnected"
                        : read.IsCancellationRequested ? "client disconnected; no usage report within the drain window (Metering:DrainAfterDisconnect)"
                        : "client disconnected; the upstream failed before its usage report: " + ex.GetType().Name
                        : window.PastDeadline(now) ? "stream cut at Metering:MaxStreamDuration"
                        : read.IsCancellationRequested ? "upstream stream idle timeout"
                        : "upstream stream failed: " + ex.GetType().Name;
                    break;
                }
                if (count == 0)
                {
                    ended = true;
                    break;
                }
                clientGone |= window.ClientGone;
                if (clientGone && !window.Drained(count))
                {
                    call.Error = "client disconnected; the upstream gave no usage within Metering:DrainMaxBytes";
                    break;
                }
                observer.Process(buffer.AsSpan(0, count), native ?? toClient);
                if (native is not null)
                {
                    translator!.Process(native.WrittenSpan, toClient);
                    native.ResetWrittenCount();
                }
                if (observer.SawTerminalEvent && call.Settlement is null && observer.Usage is { } finalUsage)
                {
                    // Settle before the client sees the end of the stream, so a completed stream is always charged.
                    await settler.SettleAsync(call, finalUsage, CallSettler.Sources.Provider);
                }
                if (clientGone)
                {
                    // Draining: nobody to write to; stop as soon as the provider's report is in.
                    toClient.ResetWrittenCount();
                    if (call.Settlement is not null) break;
                    continue;
                }
                if (!await TryWriteAsync(response, toClient, context.RequestAborted))
                {
                    clientGone = true;
                    call.Error = "client disconnected";
                    if (!window.Drains || call.Settlement is not null) break;
                    // Keep reading to the usage the provider bills for (bounded), instead of charging only what was delivered.
                    window.ClientLeft(DateTime.UtcNow);
                }
            }
            if (ended || !clientGone)
            {
                observer.Complete(native ?? toClient);
                if (native is not null)
                {
                    translator!.Process(native.WrittenSpan, toClient);
                    translator.Complete(toClient);
                }
                if (clientGone) toClient.ResetWrittenCount();
                else clientGone = !await TryWriteAsync(response, toClient, context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            clientGone = true;
            call.Error ??= "client disconnected";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            metrics.StreamOpen(call, open: false);
        }

        if (call.Settlement is not null) return;
        if (observer.Usage is { } usage && observer.SawTerminalEvent)
        {
            if (clientGone) MeteringLog.ClientLeftUsageRead(logger, call.RequestId);
            await settler.SettleAsync(call, usage, CallSettler.Sources.Provider);
            return;
        }
        if (upstreamFailed && observer.Usage is null && observer.DeliveredOutputText.Length == 0)
        {
            // The upstream broke before delivering anything: the client got nothing, so it pays nothing.
            await settler.ReleaseAsync(call);
            return;
        }
        // No complete report: charge the input and the output read (delivered, or drained after the client left).
        var counted = new CallUsage
        {
            InputTokens = observer.Usage?.InputTokens is > 0 and var reported ? reported : call.Estimate.InputTokens,
            CachedInputTokens = observer.Usage?.CachedInputTokens ?? 0,
            CacheWriteInputTokens = observer.Usage?.CacheWriteInputTokens ?? 0,
            OutputTokens = Math.Max(observer.Usage?.OutputTokens ?? 0, CallEstimator.CountText(call.Estimate.Price, observer.DeliveredOutputText)),
        };
        var partial = clientGone || upstreamFailed || !observer.SawTerminalEvent;
        MeteringLog.StreamWithoutUsage(logger, call.RequestId, call.Error ?? "no usage in stream");
        await settler.SettleAsync(call, counted, partial ? CallSettler.Sources.Partial : CallSettler.Sources.Estimated);
    }

    /// <summary>An upstream error of a translated call, re-shaped as OpenAI's error (status kept).</summary>
    private async Task TranslatedErrorAsync(HttpContext context, Unified.ChatTranslation translation, HttpResponseMessage upstream, int status)
    {
        byte[] body;
        try
        {
            body = await ReadBoundedAsync(upstream, options.Value.MaxBufferedResponseBytes, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
        {
            body = [];
        }
        var error = translation.TranslateError(body, status);
        context.Response.ContentType = "application/json";
        context.Response.Headers.ContentLength = error.Length;
        try
        {
            await context.Response.Body.WriteAsync(error, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client left; the call was released already.
        }
    }

    private static async Task<bool> TryWriteAsync(HttpResponse response, PooledBufferWriter pending, CancellationToken cancellationToken)
    {
        if (pending.WrittenCount == 0) return true;
        try
        {
            await response.Body.WriteAsync(pending.WrittenMemory, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            pending.ResetWrittenCount();
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage upstream, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await upstream.Content.ReadAsStreamAsync(cancellationToken);
        var declared = upstream.Content.Headers.ContentLength is > 0 and var n && n <= limit ? (int)n : 0;
        if (declared > 0)
        {
            // The usual answer declares its length: read it straight into one array of that size (no growing buffer and
            // no copy out of it); should the body not end there, ReadRestAsync takes over with what was read.
            var exact = new byte[declared];
            var filled = 0;
            int got;
            while (filled < declared && (got = await stream.ReadAsync(exact.AsMemory(filled), cancellationToken)) > 0) filled += got;
            if (filled < declared) return exact[..filled];
            var probe = new byte[1];
            if (await stream.ReadAsync(probe, cancellationToken) == 0) return exact;
            return await ReadRestAsync(stream, exact, probe, limit, cancellationToken);
        }
        return await ReadRestAsync(stream, [], [], limit, cancellationToken);
    }

    /// <summary>Reads a body of unknown length to its end (after the <paramref name="head"/> bytes already read), up to <paramref name="limit"/>.</summary>
    private static async Task<byte[]> ReadRestAsync(Stream stream, byte[] head, byte[] next, int limit, CancellationToken cancellationToken)
    {
        if (head.Length + next.Length > limit) throw new InvalidDataException($"The upstream response exceeded {limit} bytes.");
        using var memory = new MemoryStream(Math.Max(16 * 1024, head.Length + next.Length));
        memory.Write(head);
        memory.Write(next);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (memory.Length + read > limit) throw new InvalidDataException($"The upstream response exceeded {limit} bytes.");
                memory.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return memory.ToArray();
    }

    private static bool IsRetriable(int status) => status is 429 or 502 or 503 or 504;

    private static TimeSpan? RetryAfterOf(HttpResponseMessage upstream)
    {
        var header = upstream.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - DateTimeOffset.UtcNow is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        return null;
    }
}

/// <summary>Collects the generated text of a JSON response that carried no usage, to count its output tokens.</summary>
internal static class ResponseText
{
    /// <summary>All string values of <c>text</c> and <c>content</c> properties (OpenAI, Anthropic, Gemini and Responses shapes).</summary>
    public static string Collect(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var text = new System.Text.StringBuilder();
            Walk(document.RootElement, text);
            return text.ToString();
        }
        catch (JsonException)
        {
            return System.Text.Encoding.UTF8.GetString(body);
        }
    }

    private static void Walk(JsonElement element, System.Text.StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String && property.Name is "text" or "content" or "arguments")
                        text.Append(property.Value.GetString());
                    else
                        Walk(property.Value, text);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) Walk(item, text);
                break;
        }
    }
}
