using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AiGateway.Packs;

/// <summary>
/// <c>POST /webhooks/stripe</c>: fulfils Stripe Checkout purchases of catalog packs. Only signed events are read; a paid
/// <c>checkout.session.completed</c> (or <c>checkout.session.async_payment_succeeded</c>) whose metadata names
/// <c>account_id</c> and <c>pack_id</c> issues the pack once per Checkout Session.
/// </summary>
public static class StripeWebhookApi
{
    /// <summary>The endpoint's path.</summary>
    public const string Path = "/webhooks/stripe";

    // Stripe events are a few KB; anything far larger is not from Stripe and is not buffered.
    private const int MaxBodyBytes = 512 * 1024;

    /// <summary>Maps the webhook; it answers 404 while <c>Packs:StripeWebhookSecret</c> is empty.</summary>
    public static IEndpointRouteBuilder MapStripeWebhook(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, HandleAsync).ExcludeFromDescription();
        return app;
    }

    /// <summary>The 2xx body: what was done with the event (Stripe shows it in its delivery log).</summary>
    public sealed record WebhookResponse(string Status, long? LotId = null);

    internal static async Task<IResult> HandleAsync(
        HttpContext context, PackIssuer issuer, IOptions<PacksOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (string.IsNullOrEmpty(settings.StripeWebhookSecret))
            return TypedResults.Problem("Not found.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
        var logger = loggers.CreateLogger("AiGateway.Packs.StripeWebhook");

        var body = await ReadBodyAsync(context.Request, cancellationToken);
        if (body is null)
        {
            StripeLog.Refused(logger, "body too large");
            return BadRequest("Request body too large.");
        }
        // The raw bytes as received: re-serialized JSON would not match the signature.
        var signature = StripeSignature.Verify(context.Request.Headers["Stripe-Signature"].ToString(), body, settings.StripeWebhookSecret,
            time.GetUtcNow(), TimeSpan.FromSeconds(settings.StripeToleranceSeconds));
        if (signature != StripeSignatureStatus.Valid)
        {
            StripeLog.Refused(logger, signature.ToString());
            return BadRequest("Invalid Stripe-Signature.");
        }

        StripeEvent? stripeEvent;
        try
        {
            stripeEvent = StripeEvent.Parse(body);
        }
        catch (JsonException)
        {
            stripeEvent = null;
        }
        if (stripeEvent is null)
        {
            StripeLog.Refused(logger, "signed but not an event");
            return BadRequest("Not a Stripe event.");
        }
        if (stripeEvent.Type is not ("checkout.session.completed" or "checkout.session.async_payment_succeeded"))
            return TypedResults.Ok(new WebhookResponse("ignored"));
        // Delayed payment methods complete the session unpaid; their async_payment_succeeded event comes later and is paid.
        if (stripeEvent.PaymentStatus != "paid")
        {
            StripeLog.Ignored(logger, stripeEvent.Id, "payment_status is not paid");
            return TypedResults.Ok(new WebhookResponse("ignored"));
        }
        // A Checkout Session without pack metadata sells something else on the same Stripe account: not ours.
        if (string.IsNullOrEmpty(stripeEvent.PackId))
        {
            StripeLog.Ignored(logger, stripeEvent.Id, "no pack_id in metadata");
            return TypedResults.Ok(new WebhookResponse("ignored"));
        }

        // Paid for, but not applicable: answered non-2xx so Stripe keeps retrying (for up to three days) and shows the
        // delivery as failed; once the catalog or the account is fixed, the next retry (or a manual resend) fulfils it.
        if (!Guid.TryParse(stripeEvent.AccountId, out var accountId))
        {
            StripeLog.Unfulfillable(logger, stripeEvent.Id, stripeEvent.SessionId, stripeEvent.PackId, "account_id is missing or not an account id");
            return Unprocessable("metadata.account_id is missing or invalid.");
        }
        // Keyed by the Checkout Session, not the event: a session is one payment, whatever events (and event ids) announce it.
        var result = await issuer.IssueAsync(accountId, stripeEvent.PackId, "stripe:checkout:" + stripeEvent.SessionId, cancellationToken);
        switch (result.Status)
        {
            case PackIssueStatus.UnknownPack:
                StripeLog.Unfulfillable(logger, stripeEvent.Id, stripeEvent.SessionId, stripeEvent.PackId, "unknown pack");
                return Unprocessable("Unknown pack.");
            case PackIssueStatus.UnknownAccount:
                StripeLog.Unfulfillable(logger, stripeEvent.Id, stripeEvent.SessionId, stripeEvent.PackId, "unknown account");
                return Unprocessable("Unknown account.");
            case PackIssueStatus.Conflict:
                // Session metadata is fixed once paid, so this needs a human; retrying cannot change it.
                StripeLog.Unfulfillable(logger, stripeEvent.Id, stripeEvent.SessionId, stripeEvent.PackId, "session already fulfilled with another pack");
                return TypedResults.Ok(new WebhookResponse("conflict", result.Grant?.Lot?.Id));
            case PackIssueStatus.Repeated:
                StripeLog.Repeated(logger, stripeEvent.Id, stripeEvent.SessionId);
                return TypedResults.Ok(new WebhookResponse("repeated", result.Grant!.Lot!.Id));
            default:
                StripeLog.Issued(logger, stripeEvent.Id, stripeEvent.SessionId, result.Pack!.Id, accountId, result.Grant!.Lot!.Id);
                return TypedResults.Ok(new WebhookResponse("issued", result.Grant!.Lot!.Id));
        }
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static IResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");

    private static IResult Unprocessable(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Cannot fulfil");

    /// <summary>The few fields of a Stripe event the webhook reads.</summary>
    private sealed record StripeEvent(string Id, string Type, string? SessionId, string? PaymentStatus, string? AccountId, string? PackId)
    {
        public static StripeEvent? Parse(byte[] body)
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "id") is not { } id || Text(root, "type") is not { } type) return null;
            string? sessionId = null, paymentStatus = null, accountId = null, packId = null;
            if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
                data.TryGetProperty("object", out var obj) && obj.ValueKind == JsonValueKind.Object)
            {
                sessionId = Text(obj, "id");
                paymentStatus = Text(obj, "payment_status");
                if (obj.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
                {
                    accountId = Text(metadata, "account_id");
                    packId = Text(metadata, "pack_id");
                }
            }
            // Without a session id there is nothing to key exactly-once on: not a Checkout Session event.
            return string.IsNullOrEmpty(sessionId) && type.StartsWith("checkout.session.", StringComparison.Ordinal) ? null
                : new StripeEvent(id, type, sessionId, paymentStatus, accountId, packId);
        }

        private static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}

/// <summary>The webhook's log lines: event and session ids only, never the body, the header or the secret.</summary>
internal static partial class StripeLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Stripe webhook refused: {Reason}")]
    public static partial void Refused(ILogger logger, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Stripe event {StripeEventId} ignored: {Reason}")]
    public static partial void Ignored(ILogger logger, string stripeEventId, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error,
        Message = "Stripe event {StripeEventId} (session {SessionId}, pack {PackId}) was paid but cannot be fulfilled: {Reason}; Stripe will retry")]
    public static partial void Unfulfillable(ILogger logger, string stripeEventId, string? sessionId, string? packId, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Stripe event {StripeEventId}: session {SessionId} was already fulfilled")]
    public static partial void Repeated(ILogger logger, string stripeEventId, string? sessionId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information,
        Message = "Stripe event {StripeEventId}: session {SessionId} issued pack {PackId} to account {AccountId} as lot {LotId}")]
    public static partial void Issued(ILogger logger, string stripeEventId, string? sessionId, string packId, Guid accountId, long lotId);
}
