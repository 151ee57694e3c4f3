using System.Net.Sockets;
using System.Text;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>
/// HTTP/1.1 over a bare socket, for requests HttpClient would "fix" on the way out (dot segments in the request target,
/// bodies the server refuses half-way): sends exactly what it is given and reads the status line.
/// </summary>
public static class RawHttp
{
    /// <summary>A raw exchange's outcome: status (0 when the server closed without answering) and the body bytes written.</summary>
    public sealed record Result(int Status, string Head, string Body, long BodyBytesSent);

    /// <summary>
    /// Sends a request with the given target and headers; <paramref name="body"/> gets a Content-Length, <paramref name="rawBody"/>
    /// is written as given after the headers (e.g. already chunked).
    /// </summary>
    public static async Task<Result> SendAsync(Uri server, string method, string target, IEnumerable<string> headers, byte[]? body = null, byte[]? rawBody = null)
    {
        body ??= rawBody;
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        foreach (var h in headers) head.Append(h).Append("\r\n");
        if (body is not null && rawBody is null) head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        head.Append("\r\n");
        return await ExchangeAsync(server, Encoding.ASCII.GetBytes(head.ToString()), async (stream, ct) =>
        {
            if (body is not null) await stream.WriteAsync(body, ct);
            return body?.Length ?? 0;
        });
    }

    /// <summary>
    /// Sends headers, then writes <paramref name="totalBytes"/> of body in 64 KiB pieces (chunked when <paramref name="chunked"/>,
    /// else with a Content-Length) until done or until the server answers or closes; reports how much body went out.
    /// </summary>
    public static Task<Result> StreamBodyAsync(Uri server, string target, IEnumerable<string> headers, long totalBytes, bool chunked)
    {
        var head = new StringBuilder($"POST {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\nContent-Type: application/json\r\n");
        foreach (var h in headers) head.Append(h).Append("\r\n");
        head.Append(chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {totalBytes}\r\n").Append("\r\n");
        return ExchangeAsync(server, Encoding.ASCII.GetBytes(head.ToString()), async (stream, ct) =>
        {
            var piece = new byte[64 * 1024];
            Array.Fill(piece, (byte)' ');
            piece[0] = (byte)'{';
            long sent = 0;
            try
            {
                while (sent < totalBytes && !ct.IsCancellationRequested)
                {
                    var n = (int)Math.Min(piece.Length, totalBytes - sent);
                    if (chunked) await stream.WriteAsync(Encoding.ASCII.GetBytes($"{n:x}\r\n"), ct);
                    await stream.WriteAsync(piece.AsMemory(0, n), ct);
                    if (chunked) await stream.WriteAsync("\r\n"u8.ToArray(), ct);
                    sent += n;
                }
                if (chunked && !ct.IsCancellationRequested) await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The server answered and closed: exactly what an early rejection looks like.
            }
            return sent;
        });
    }

    private static async Task<Result> ExchangeAsync(Uri server, byte[] head, Func<Stream, CancellationToken, Task<long>> writeBody)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(head);
        using var answered = new CancellationTokenSource();
        // Read concurrently: a server that rejects early answers while the body is still being written.
        var read = Task.Run(async () =>
        {
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(chunk)) > 0)
                {
                    buffer.Write(chunk, 0, n);
                    if (Encoding.ASCII.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Contains("\r\n\r\n")) answered.Cancel();
                }
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
            }
            answered.Cancel();
            return Encoding.UTF8.GetString(buffer.ToArray());
        });
        long sent;
        try
        {
            sent = await writeBody(stream, answered.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            sent = -1;
        }
        var text = await read.WaitAsync(TimeSpan.FromSeconds(30));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headText = split < 0 ? text : text[..split];
        var status = headText.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(headText.AsSpan(9, 3), out var s) ? s : 0;
        return new Result(status, headText, split < 0 ? "" : text[(split + 4)..], sent);
    }
}
