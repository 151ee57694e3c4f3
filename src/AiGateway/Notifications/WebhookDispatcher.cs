using System.Net.Http.Headers;
using System.Text;
using AiGateway.Storage;
using Microsoft.Extensions.Options;

namespace AiGateway.Notifications;

/// <summary>
/// Sends the outbox's pending deliveries, one at a time per endpoint, signed per Standard Webhooks. A delivery is
/// claimed with a lease in a ledger transaction (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite: the write turn), so
/// several instances never send the same attempt at once. A failed attempt is retried after an exponentially growing
/// delay (stored as <c>next_attempt_at</c>, so retries survive a restart) until <see cref="NotificationOptions.GiveUpAfter"/>.
/// Calls never wait for it: it runs on its own, and the metered path only writes rows.
/// </summary>
public sealed partial class WebhookDispatcher(
    DatabaseWriter writer, NotificationOutbox outbox, IHttpClientFactory httpClients, TimeProvider time, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    /// <summary>The named HTTP client the dispatcher sends with.</summary>
    public const string HttpClientName = "webhooks";

    private const int ClaimBatch = 10;
    private const int MaxErrorLength = 500;
    private readonly NotificationOptions _options = outbox.Options;
    // Unique per dispatcher lifetime: a lease names its holder, and a restarted process must not mistake an old lease for its own.
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>Runs one delivery loop per endpoint until the host stops (nothing when no endpoint is configured).</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_options.Endpoints.Select(e => Task.Run(() => RunEndpointAsync(e, stoppingToken), CancellationToken.None)));

    /// <summary>Gives back the leases this instance still holds, so another instance (or this one restarted) can send them at once.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!_options.Enabled) return;
        try
        {
            await writer.InTransactionAsync(s => s.ExecuteAsync(
                "UPDATE notification_deliveries SET lease_until = 0, lease_owner = NULL WHERE lease_owner = @me AND status = 'pending'",
                ("@me", _owner)), CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The leases then simply run out.
            Log.ReleaseFailed(logger, ex);
        }
    }

    private async Task RunEndpointAsync(WebhookEndpointOptions endpoint, CancellationToken stoppingToken)
    {
        WebhookSignature.TryReadSecret(endpoint.Secret, out var key);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var claimed = await ClaimAsync(endpoint.Name, stoppingToken);
                foreach (var delivery in claimed)
                {
                    if (stoppingToken.IsCancellationRequested) break;
                    await DeliverAsync(endpoint, key, delivery, stoppingToken);
                }
                if (claimed.Count == ClaimBatch) continue;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // E.g. the database is briefly unavailable: try again at the next poll.
                Log.LoopFailed(logger, ex, endpoint.Name);
            }
            try
            {
                await outbox.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One claimed delivery: the row, its event's id, body and time, and the attempts made before.</summary>
    private sealed record Claimed(long Id, string EventId, string Payload, long EventCreatedAt, int Attempts);

    private async Task<IReadOnlyList<Claimed>> ClaimAsync(string endpoint, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        // Long enough for the attempt and recording it; a crashed holder's lease runs out and the delivery is tried again.
        var until = now + (_options.Timeout + TimeSpan.FromSeconds(30)).Ticks;
        return await writer.InTransactionAsync(async s =>
        {
            var claimed = await s.ExecuteAsync(
                $"""
                UPDATE notification_deliveries SET lease_until = @until, lease_owner = @me
                WHERE id IN (SELECT id FROM notification_deliveries
                             WHERE endpoint = @ep AND status = 'pending' AND next_attempt_at <= @now AND lease_until <= @now
                             ORDER BY next_attempt_at, id LIMIT {ClaimBatch}{(s.IsPostgres ? " FOR UPDATE SKIP LOCKED" : "")})
                """,
                ("@until", until), ("@me", _owner), ("@ep", endpoint), ("@now", now));
            var rows = new List<Claimed>(claimed);
            if (claimed == 0) return rows;
            await using var reader = await s.ReaderAsync(
                """
                SELECT d.id, d.event_id, e.payload, e.created_at, d.attempts FROM notification_deliveries d
                JOIN notification_events e ON e.id = d.event_id
                WHERE d.endpoint = @ep AND d.lease_owner = @me AND d.lease_until = @until AND d.status = 'pending'
                ORDER BY d.next_attempt_at, d.id
                """,
                ("@ep", endpoint), ("@me", _owner), ("@until", until));
            while (await reader.ReadAsync())
                rows.Add(new Claimed(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt32(4)));
            return rows;
        }, cancellationToken);
    }

    private async Task DeliverAsync(WebhookEndpointOptions endpoint, byte[] key, Claimed delivery, CancellationToken stoppingToken)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        int? status = null;
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
            {
                Content = new StringContent(delivery.Payload, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
            };
            request.Headers.Add("webhook-id", delivery.EventId);
            request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(key, delivery.EventId, timestamp, delivery.Payload));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(_options.Timeout);
            using var response = await httpClients.CreateClient(HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode) error = $"HTTP {status}";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the attempt is not counted; the lease is given back in StopAsync and the delivery sent again later.
            return;
        }
        catch (OperationCanceledException)
        {
            error = $"timed out after {_options.Timeout.TotalSeconds:0.#} s";
        }
        catch (HttpRequestException ex)
        {
            error = ex.HttpRequestError == HttpRequestError.Unknown ? "request failed" : ex.HttpRequestError.ToString();
        }
        // Recorded even while stopping: a receiver that answered 2xx must not be sent the event again.
        await RecordAsync(delivery, status, error);
    }

    private async Task RecordAsync(Claimed delivery, int? status, string? error)
    {
        var now = time.GetUtcNow();
        var attempts = delivery.Attempts + 1;
        if (error is null)
        {
            await writer.InTransactionAsync(s => s.ExecuteAsync(
                """
                UPDATE notification_deliveries SET status = 'delivered', attempts = @n, last_status = @st, last_error = NULL,
                    delivered_at = @now, lease_until = 0, lease_owner = NULL
                WHERE id = @id AND lease_owner = @me
                """,
                ("@n", attempts), ("@st", status), ("@now", now.UtcTicks), ("@id", delivery.Id), ("@me", _owner)));
            return;
        }
        var next = now + RetryDelay(_options, attempts);
        var giveUp = next.UtcTicks > delivery.EventCreatedAt + _options.GiveUpAfter.Ticks;
        if (error.Length > MaxErrorLength) error = error[..MaxErrorLength];
        await writer.InTransactionAsync(s => s.ExecuteAsync(
            """
            UPDATE notification_deliveries SET status = @status, attempts = @n, last_status = @st, last_error = @err,
                next_attempt_at = @next, lease_until = 0, lease_owner = NULL
            WHERE id = @id AND lease_owner = @me
            """,
            ("@status", giveUp ? "failed" : "pending"), ("@n", attempts), ("@st", status), ("@err", error),
            ("@next", next.UtcTicks), ("@id", delivery.Id), ("@me", _owner)));
        if (giveUp) Log.GaveUp(logger, delivery.EventId, attempts, error);
        else Log.AttemptFailed(logger, delivery.EventId, attempts, error);
    }

    /// <summary>The delay after the <paramref name="attempts"/>-th failed attempt: the first delay, doubled each time, capped.</summary>
    public static TimeSpan RetryDelay(NotificationOptions options, int attempts)
    {
        var delay = options.FirstRetryDelay;
        for (var i = 1; i < attempts && delay < options.MaxRetryDelay; i++) delay *= 2;
        return delay < options.MaxRetryDelay ? delay : options.MaxRetryDelay;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Webhook {MessageId} attempt {Attempt} failed: {Error}; retrying later")]
        public static partial void AttemptFailed(ILogger logger, string messageId, int attempt, string error);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "Webhook {MessageId} given up after {Attempt} attempts: {Error}")]
        public static partial void GaveUp(ILogger logger, string messageId, int attempt, string error);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Webhook delivery loop for endpoint {Endpoint} failed; retrying at the next poll")]
        public static partial void LoopFailed(ILogger logger, Exception exception, string endpoint);

        [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Could not give back webhook delivery leases at shutdown")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception);
    }
}
