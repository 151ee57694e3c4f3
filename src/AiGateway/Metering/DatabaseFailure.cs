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
}
