using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace AiGateway.Storage;

/// <summary>
/// SQLite's WAL commit hook (<c>sqlite3_wal_hook</c>, which SQLitePCLRaw does not wrap): after each commit on a hooked
/// connection SQLite reports how many frames the WAL holds. Installing it replaces SQLite's automatic checkpoint on that
/// connection (which is itself this hook), so the owner must checkpoint: <see cref="SqliteWriteGroup"/> does, after the
/// commit's callers have been told it is durable, instead of inside their COMMIT.
/// </summary>
internal static class SqliteWalHook
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int WalHookCallback(IntPtr arg, IntPtr db, IntPtr databaseName, int pages);

    // Kept alive for the process: native code holds a pointer to it.
    private static readonly WalHookCallback Callback = OnCommit;
    private static readonly IntPtr CallbackPointer = Marshal.GetFunctionPointerForDelegate(Callback);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr sqlite3_wal_hook(IntPtr db, IntPtr callback, IntPtr arg);

    // arg: a GCHandle to the connection's Hooked (runs inside sqlite3_step of the COMMIT, under the connection).
    private static int OnCommit(IntPtr arg, IntPtr db, IntPtr databaseName, int pages)
    {
        try
        {
            if (GCHandle.FromIntPtr(arg).Target is Hooked hooked) hooked.Pages = pages;
        }
        catch (Exception)
        {
            // Never let an exception cross into SQLite (the process would end); no report means "checkpoint now".
        }
        return 0;
    }

    /// <summary>One hooked connection and what the hook last reported; dispose it after the connection is closed (it frees the handle).</summary>
    public sealed class Hooked : IDisposable
    {
        private GCHandle _handle;

        /// <summary>The WAL's frames after the last commit (-1 after <see cref="Reset"/> until the next commit).</summary>
        public int Pages { get; internal set; } = -1;

        internal Hooked(SqliteConnection connection)
        {
            _handle = GCHandle.Alloc(this);
            sqlite3_wal_hook(connection.Handle!.DangerousGetHandle(), CallbackPointer, GCHandle.ToIntPtr(_handle));
        }

        /// <summary>Forgets the last report (call before a COMMIT).</summary>
        public void Reset() => Pages = -1;

        public void Dispose()
        {
            if (_handle.IsAllocated) _handle.Free();
        }
    }

    /// <summary>Installs the hook on <paramref name="connection"/> (its automatic checkpoint stops).</summary>
    public static Hooked Install(SqliteConnection connection) => new(connection);
}
