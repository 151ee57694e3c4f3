using AiGateway.Api;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Notifications;

/// <summary>The admin endpoints of balance notifications: an account's settings, its events with their deliveries, re-send.</summary>
public static class NotificationsApi
{
    /// <summary>The largest page of an account's event list.</summary>
    public const int MaxEventPage = 200;

    /// <summary>Maps the endpoints on the (already secured) <c>/admin</c> group.</summary>
    public static RouteGroupBuilder MapNotificationsAdminApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/accounts/{id:guid}/notifications", GetSettings)
            .WithName("GetNotificationSettings").WithSummary("An account's notification settings, what applies after the global defaults, and the episode state")
            .WithTags(ApiTags.AdminNotifications);
        admin.MapPut("/accounts/{id:guid}/notifications", PutSettings)
            .WithName("PutNotificationSettings").WithSummary("Replace an account's notification settings (null fields take the global defaults)")
            .WithTags(ApiTags.AdminNotifications);
        admin.MapGet("/accounts/{id:guid}/notifications/events", ListEvents)
            .WithName("ListNotificationEvents").WithSummary("An account's notification events, newest first, with each endpoint's delivery status, attempts and last error")
            .WithTags(ApiTags.AdminNotifications);
        admin.MapPost("/notifications/{id}/resend", Resend)
            .WithName("ResendNotification").WithSummary("Send an event again (same webhook-id and body) to every endpoint that takes its type")
            .WithTags(ApiTags.AdminNotifications)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return admin;
    }

    /// <summary>Body of <c>PUT /admin/accounts/{id}/notifications</c>: the account's own settings; null takes the global default.</summary>
    public sealed record PutNotificationSettingsRequest(decimal? LowBalanceCredits, int? LowBalancePercent, int? ExpiringWithinDays, List<string>? Events);

    /// <summary>An account's events.</summary>
    public sealed record NotificationEventPage(IReadOnlyList<NotificationEventView> Items);

    internal static async Task<Results<Ok<NotificationSettingsView>, ProblemHttpResult>> GetSettings(
        Guid id, NotificationSettings settings, CancellationToken cancellationToken) =>
        await settings.GetAsync(id, cancellationToken) is { } view ? TypedResults.Ok(view) : NotFound(id);

    internal static async Task<Results<Ok<NotificationSettingsView>, ProblemHttpResult>> PutSettings(
        Guid id, PutNotificationSettingsRequest request, NotificationSettings settings, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } error) return Problem(StatusCodes.Status400BadRequest, "Invalid request", error);
        var view = await settings.PutAsync(id, new NotificationSettings.AccountSettings(
            request.LowBalanceCredits, request.LowBalancePercent, request.ExpiringWithinDays, request.Events), cancellationToken);
        return view is null ? NotFound(id) : TypedResults.Ok(view);
    }

    internal static async Task<Results<Ok<NotificationEventPage>, ProblemHttpResult>> ListEvents(
        Guid id, int? limit, NotificationSettings settings, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxEventPage) return Problem(StatusCodes.Status400BadRequest, "Invalid request", $"limit must be between 1 and {MaxEventPage}.");
        var events = await settings.ListEventsAsync(id, limit ?? 50, cancellationToken);
        return events is null ? NotFound(id) : TypedResults.Ok(new NotificationEventPage(events));
    }

    internal static async Task<Results<Accepted<NotificationEventView>, ProblemHttpResult>> Resend(
        string id, NotificationSettings settings, NotificationOutbox outbox, CancellationToken cancellationToken)
    {
        if (!outbox.Enabled) return Problem(StatusCodes.Status409Conflict, "Notifications are off", "No webhook endpoint is configured (Notifications:Endpoints).");
        if (id.Length > 40 || !await settings.ResendAsync(id, cancellationToken))
            return Problem(StatusCodes.Status404NotFound, "Not found", $"Notification event '{id}' not found.");
        return TypedResults.Accepted($"/admin/notifications/{id}", (await settings.GetEventAsync(id, cancellationToken))!);
    }

    /// <summary>The first problem with a settings request, or null when it is valid.</summary>
    internal static string? Validate(PutNotificationSettingsRequest request)
    {
        if (request.LowBalanceCredits is not null && request.LowBalancePercent is not null) return "give lowBalanceCredits or lowBalancePercent, not both.";
        if (request.LowBalanceCredits is { } c && (c < 0 || c > 1_000_000_000 || decimal.Round(c, 6) != c))
            return "lowBalanceCredits must be between 0 and 1e9 with at most six decimals (0 turns the low-balance event off).";
        if (request.LowBalancePercent is < 1 or > 100) return "lowBalancePercent must be between 1 and 100.";
        if (request.ExpiringWithinDays is < 0 or > 365) return "expiringWithinDays must be between 0 and 365.";
        if (request.Events?.FirstOrDefault(t => !NotificationEventTypes.IsKnown(t)) is { } unknown)
            return $"unknown event type '{unknown}'; known: {string.Join(", ", NotificationEventTypes.All)}.";
        return null;
    }

    private static ProblemHttpResult NotFound(Guid id) => Problem(StatusCodes.Status404NotFound, "Not found", $"Account {id} not found.");

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(detail, statusCode: status, title: title);
}
