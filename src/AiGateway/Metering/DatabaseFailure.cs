using System.Data.Common;
using System.Net.Sockets;

namespace AiGateway.Metering;

/// <summary>Recognises failures of the ledger database (down, locked, timed out), which the gateway treats as "fail closed".</summary>
public static class DatabaseFailure
{
    /// <summary>Whether the exception (or one it wraps) says the database could not be used.</summary>
    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException or TimeoutException or SocketException) return true;
            if (e is InvalidOperationException && e.InnerException is not null) continue;
        }
        return false;
    }

    /// <summary>Whether the database could not be used (down, locked, timed out) — a failure, not a refusal of the data.</summary>
    public static bool IsOutage(Exception exception) => Is(exception) && !IsRefusal(exception);

    /// <summary>
    /// Whether the database refused the data (a constraint, or a value it cannot store) rather than failed: the same
    /// statement would fail again, while other writes still work — so a write without that data is worth trying at once.
    /// </summary>
    public static bool IsRefusal(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            // SQLite: TOOBIG, CONSTRAINT, MISMATCH, RANGE. PostgreSQL (SQLSTATE): data exception, integrity constraint violation.
            if (e is Microsoft.Data.Sqlite.SqliteException sqlite) return sqlite.SqliteErrorCode is 18 or 19 or 20 or 25;
            if (e is DbException { SqlState: { Length: 5 } state }) return state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal);
        }
        return false;
    }
}
