using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Api;

/// <summary>Validates the query-string arguments the account APIs share, answering a ProblemDetails 400 for bad ones.</summary>
internal static class QueryArguments
{
    /// <summary>The longest date range a summary or export may cover; it bounds how many rows one request scans.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    /// <summary>Parses a numeric keyset cursor (an id the next page lies below or above) and clamps the page size.</summary>
    public static ProblemHttpResult? Page(string? cursor, int? limit, int defaultLimit, int maxLimit, out long? after, out int size)
    {
        after = null;
        size = defaultLimit;
        if (limit is { } l)
        {
            if (l < 1 || l > maxLimit) return Invalid($"limit must be between 1 and {maxLimit}.");
            size = l;
        }
        if (string.IsNullOrEmpty(cursor)) return null;
        if (!long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c) || c <= 0)
        {
            return Invalid("cursor is invalid; pass the nextCursor of the previous page.");
        }
        after = c;
        return null;
    }

    /// <summary>Checks an optional <c>[from, to)</c> range (either end may be open) for order.</summary>
    public static ProblemHttpResult? Range(DateTimeOffset? from, DateTimeOffset? to) =>
        from is { } f && to is { } t && t < f ? Invalid("to must not be before from.") : null;

    /// <summary>Resolves a required, bounded range: defaults to the 30 days before now, at most <see cref="MaxRange"/>.</summary>
    public static ProblemHttpResult? BoundedRange(DateTimeOffset? from, DateTimeOffset? to, DateTimeOffset now, out DateTimeOffset start, out DateTimeOffset end)
    {
        end = to ?? now;
        start = from ?? end.AddDays(-30);
        if (end < start) return Invalid("to must not be before from.");
        if (end - start > MaxRange) return Invalid($"The range may cover at most {MaxRange.TotalDays:0} days.");
        return null;
    }

    /// <summary>A 400 ProblemDetails with the given detail.</summary>
    public static ProblemHttpResult Invalid(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid request", detail: detail);

    /// <summary>A 404 ProblemDetails for an unknown account.</summary>
    public static ProblemHttpResult AccountNotFound(Guid id) => NotFound($"Account {id} not found.");

    /// <summary>A 404 ProblemDetails with the given detail.</summary>
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);
}
