package web

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
)

// favicon is the site's icon, drawn once: a white seal on the brand's red,
// as an ICO holding one 32x32 PNG (every browser since 2007 reads that), so
// /favicon.ico, which browsers ask for on every page, is never a 404.
var favicon = sync.OnceValue(func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red, white := color.NRGBA{0x8b, 0x1a, 0x1a, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := red
			if dx, dy := x-n/2, y-n/2; dx*dx+dy*dy <= 7*7 {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var p bytes.Buffer
	_ = png.Encode(&p, img)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})             // reserved, type icon, one image
	b.Write([]byte{n, n, 0, 0})                                               // width, height, palette, reserved
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})               // planes, bits per pixel
	_ = binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 22}) // size, offset
	b.Write(p.Bytes())
	return b.Bytes()
})

func serveFavicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/x-icon", favicon())
}
