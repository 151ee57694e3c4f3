using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>The gateway as a real OS process (the built AiGateway.dll, run from the repository root), for crash tests.</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private Process? _process;

    /// <summary>Prepares a gateway on a free loopback port with the given environment (configuration keys as Section__Key).</summary>
    public GatewayProcess(IDictionary<string, string> environment)
    {
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}");
        _environment = new Dictionary<string, string>(environment);
    }

    /// <summary>
    /// The environment of a gateway process on its own SQLite file (<c>gateway.db</c>) and settlement journal in
    /// <paramref name="dir"/>, with the OpenAI cluster pointed at <paramref name="upstream"/>; callers add their own keys.
    /// </summary>
    public static Dictionary<string, string> SqliteFileEnvironment(string dir, WireMockScope upstream, string adminKey, string openAiKey) => new()
    {
        ["ConnectionStrings__Ledger"] = $"Data Source={DatabasePath(dir)}",
        ["Gateway__AdminKey"] = adminKey,
        ["ReverseProxy__Clusters__openai__Destinations__primary__Address"] = upstream.UpstreamAddress,
        ["OPENAI_API_KEY"] = openAiKey,
        ["Metering__JournalPath"] = Path.Combine(dir, "journal.jsonl"),
        ["Serilog__MinimumLevel__Default"] = "Warning",
    };

    /// <summary>The SQLite file of <see cref="SqliteFileEnvironment"/> in <paramref name="dir"/>.</summary>
    public static string DatabasePath(string dir) => Path.Combine(dir, "gateway.db");

    /// <summary>The gateway's port.</summary>
    public int Port { get; }

    /// <summary>The gateway's base address.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Everything the process wrote to stdout/stderr (for diagnosing failures).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

    /// <summary>Starts the process and waits until <c>/readyz</c> answers.</summary>
    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AiGateway.dll"));
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        foreach (var (k, v) in _environment) psi.Environment[k] = v;
        _process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException("gateway exited:\n" + string.Join('\n', Output));
            try
            {
                if ((await probe.GetAsync("/readyz")).IsSuccessStatusCode) return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("gateway did not become ready:\n" + string.Join('\n', Output));
    }

    /// <summary>kill -9: the process gets no chance to finish anything.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
