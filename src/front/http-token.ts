// RFC 9110's `token`: what a header name and a method are made of (tchar+). One definition for
// every place that checks one: the uwsgi listener's variables, and the fetch adapter's Request
// and Response headers (the names Headers accepts).
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
