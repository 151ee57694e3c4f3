using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL server (Debian's binaries, run as the postgres user) on its own port and data folder, so a
/// test may stop and restart it without disturbing the shared server other tests use. Needs root, as the test command has.
/// </summary>
public sealed class DisposablePostgresServer : IAsyncDisposable
{
    private const string BinDir = "/usr/lib/postgresql/15/bin";
    private readonly string _dataDir = Path.Combine("/tmp", "aigw-pg-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The server's TCP port on 127.0.0.1.</summary>
    public int Port { get; } = FreePort();

    /// <summary>A connection string to its <c>postgres</c> database (trust authentication, short timeouts).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=3;Command Timeout=3;Maximum Pool Size=20";

    /// <summary>Creates the data folder and starts the server.</summary>
    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDir, "initdb")))
        {
            throw new InvalidOperationException("PostgreSQL 15 binaries missing: run tests/scripts/start-postgres.sh (it installs them).");
        }
        Directory.CreateDirectory(_dataDir);
        await RunAsync("chown", "postgres:postgres", _dataDir);
        await AsPostgresAsync($"{BinDir}/initdb -D {_dataDir} --auth=trust -U postgres -E UTF8 >/dev/null");
        await StartAsync();
    }

    /// <summary>Starts (or restarts) the server and waits until it accepts connections.</summary>
    public Task StartAsync() =>
        AsPostgresAsync($"{BinDir}/pg_ctl -D {_dataDir} -w -t 30 -l {_dataDir}/server.log -o \"-p {Port} -k {_dataDir} -c listen_addresses=127.0.0.1\" start >/dev/null");

    /// <summary>Stops the server at once, as a crash or an operator would (in-flight connections are cut).</summary>
    public Task StopAsync() => AsPostgresAsync($"{BinDir}/pg_ctl -D {_dataDir} -m immediate -w stop >/dev/null");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static Task AsPostgresAsync(string command) => RunAsync("su", "postgres", "-s", "/bin/sh", "-c", command);

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
