using Microsoft.AspNetCore.Http.Features;

namespace AiGateway.Metering;

/// <summary>Step "read": buffers a metered request body up to a limit, and replays it for forwarding.</summary>
public static class RequestBodyReader
{
    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.ContentLength is { } declared && declared > limit) return null;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Let the server stop reading at the limit instead of its own default.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }
        byte[]? body;
        try
        {
            body = request.ContentLength is { } length
                ? await ReadExactAsync(request.Body, length, context.RequestAborted)
                : await ReadChunkedAsync(request.Body, limit, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        if (body is null) return null;
        // The body is now a buffer of known length: without the client's hop-by-hop framing header, YARP forwards it
        // with a Content-Length instead of re-chunking it.
        request.Headers.Remove("Transfer-Encoding");
        return body;
    }

    /// <summary>A body of declared length, read straight into one array of that size (the server enforces the length).</summary>
    private static async Task<byte[]> ReadExactAsync(Stream body, long length, CancellationToken cancellationToken)
    {
        if (length == 0) return [];
        var result = new byte[length];
        var filled = 0;
        while (filled < result.Length)
        {
            var read = await body.ReadAsync(result.AsMemory(filled), cancellationToken);
            if (read == 0) return result[..filled]; // a server that does not enforce the length: keep what came
            filled += read;
        }
        return result;
    }

    /// <summary>A body without a declared length, read in pooled chunks; null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadChunkedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(4096);
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit) return null;
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    /// <summary>Puts a read body back so YARP forwards it unchanged.</summary>
    public static void Replay(HttpContext context, byte[] body)
    {
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Request.ContentLength = body.Length;
    }
}
